/**
 * Acceptance over the real Cilium corpus: every plain-YAML policy object is accepted, except the ones current Cilium
 * (or the API server) rejects; every Go-templated file gets a YAML error with line:col; nothing crashes.
 * Required when CI=true; skipped with a notice when the corpus is absent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { CORPUS_CILIUM, corpusAvailable, listFiles } from './corpus-dir.js';

/** Files that are plain YAML but not valid policies, with the code we must report. */
const KNOWN_INVALID: Record<string, string> = {
  // fromRequires: the CRD types it with maxItems 0; current Cilium rejects it.
  'examples/policies/l3/requires/requires.yaml': 'requires-unsupported',
  // Placeholders that Cilium's end-to-end scripts substitute before applying: the CRD's `cidr` format rejects them.
  'test/k8s/manifests/ccnp-host-ingress-from-cidr-to-ports.yaml': 'cidr-invalid',
  'test/k8s/manifests/ccnp-host-policy-nodeport-tests.yaml': 'cidr-invalid',
  'test/k8s/manifests/cnp-ingress-from-cidr-to-ports.yaml': 'cidr-invalid',
};

const present = corpusAvailable();
if (!present && process.env.CI !== 'true') {
  console.warn(`[validate-corpus] skipped: corpus not found at ${CORPUS_CILIUM}`);
}

describe.skipIf(!present && process.env.CI !== 'true')('validate over the Cilium corpus', () => {
  it('finds the corpus (required under CI)', () => {
    expect(present, `corpus missing at ${CORPUS_CILIUM}`).toBe(true);
  });

  const files = present ? listFiles(CORPUS_CILIUM).filter((f) => !f.startsWith('pkg/k8s/apis/')) : [];
  const texts = new Map(files.map((f) => [f, readFileSync(path.join(CORPUS_CILIUM, f), 'utf8')]));
  const templated = files.filter((f) => texts.get(f)!.includes('{{'));
  const plain = files.filter((f) => !texts.get(f)!.includes('{{'));

  it('sees the corpus as described (about 41 templated files, 230+ files)', () => {
    expect(files.length).toBeGreaterThan(220);
    expect(templated.length).toBeGreaterThanOrEqual(38);
  });

  it('accepts every policy object of every plain-YAML file, except the known invalid ones', () => {
    let policies = 0;
    for (const f of plain) {
      const result = loadPolicyModel([{ path: f, text: texts.get(f)! }]);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      const expected = KNOWN_INVALID[f];
      if (expected) {
        expect(errors.length, `${f} should be rejected`).toBeGreaterThan(0);
        expect(errors.every((e) => e.code === expected), `${f}: ${errors.map((e) => e.code).join(',')}`).toBe(true);
        for (const e of errors) expect(e.pos.line).toBeGreaterThan(0);
      } else {
        expect(errors.map((e) => `${e.pos.file}:${e.pos.line}:${e.pos.col} ${e.message} [${e.code}]`)).toEqual([]);
        expect(result.stats.invalid).toBe(0);
      }
      policies += result.stats.policies;
    }
    // The corpus README counts about 233 policy objects in all (templated files included).
    expect(policies).toBeGreaterThan(150);
  });

  it('explains fromRequires clearly, at its position', () => {
    const f = 'examples/policies/l3/requires/requires.yaml';
    const result = loadPolicyModel([{ path: f, text: texts.get(f)! }]);
    const d = result.diagnostics.find((x) => x.code === 'requires-unsupported');
    expect(d?.message).toMatch(/fromRequires is not supported/);
    expect(d?.pos).toEqual({ file: f, line: 11, col: 7 });
    expect(result.model.specs).toEqual([]);
  });

  it('gives every templated file a YAML error with line:col', () => {
    for (const f of templated) {
      const text = texts.get(f)!;
      const result = loadPolicyModel([{ path: f, text }]);
      const yamlErrors = result.diagnostics.filter((d) => d.severity === 'error' && d.code.startsWith('yaml-'));
      expect(yamlErrors.length, `${f} has no YAML error`).toBeGreaterThan(0);
      for (const e of yamlErrors) {
        expect(e.pos.line, f).toBeGreaterThan(0);
        expect(e.pos.col, f).toBeGreaterThan(0);
        // The reported line exists in the file.
        expect(e.pos.line, f).toBeLessThanOrEqual(text.split('\n').length);
      }
    }
  });

  it('never throws, whatever the file, and is deterministic', () => {
    const all = files.map((f) => ({ path: f, text: texts.get(f)! }));
    const a = loadPolicyModel(all);
    const b = loadPolicyModel([...all].reverse());
    expect(JSON.stringify(a.model)).toBe(JSON.stringify(b.model));
    expect(a.diagnostics).toEqual(b.diagnostics);
  });
});
