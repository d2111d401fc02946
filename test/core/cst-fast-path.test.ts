/**
 * The CST fast path of the loader must give exactly what composing yaml Documents gives: same values, same
 * positions, same diagnostics, over every file of the corpus, the template and generated policies. It must also
 * actually be used for ordinary policy files (otherwise it is dead weight).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolvePlain } from '../../pipeline/core/load/cst-convert.js';
import { resolveLoadLimits } from '../../pipeline/core/load/limits.js';
import { fastPathApplies, parsePolicyText } from '../../pipeline/core/load/parse-yaml.js';
import { CORPUS_CILIUM, REPO_ROOT, corpusAvailable, listFiles } from '../corpus/corpus-dir.js';

const limits = resolveLoadLimits();

function inputs(): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const template = path.join(REPO_ROOT, 'policy-repo-template', 'policies');
  for (const f of listFiles(template)) out.push({ path: f, text: readFileSync(path.join(template, f), 'utf8') });
  if (corpusAvailable()) for (const f of listFiles(CORPUS_CILIUM)) out.push({ path: f, text: readFileSync(path.join(CORPUS_CILIUM, f), 'utf8') });
  out.push({ path: 'odd.yaml', text: 'a: 0o17\nb: 0x1F\nc: +12\nd: .5\ne: 1e3\nf: .inf\ng: -.Inf\nh: ~\ni: "q\\tx"\nj: \'it\'\'s\'\nk: |\n  lit\n  eral\nl: >-\n  fold\n  ed\nm: [1, {x: y}, []]\nn: {}\no:\np: TRUE\n' });
  return out;
}

describe('CST fast path', () => {
  const files = inputs();
  it('gives the same documents and diagnostics as the composer, file by file', () => {
    for (const f of files) {
      const fast = parsePolicyText(f, limits);
      const composed = parsePolicyText(f, limits, { composeOnly: true });
      expect(JSON.stringify(fast), f.path).toBe(JSON.stringify(composed));
    }
  });

  it('is used for ordinary policy files', () => {
    const plain = files.filter((f) => !f.text.includes('{{'));
    const fast = plain.filter((f) => fastPathApplies(f, limits));
    expect(fast.length / plain.length).toBeGreaterThan(0.9);
    expect(fastPathApplies({ path: 'x', text: 'a: &x 1\nb: *x\n' }, limits)).toBe(false);
    expect(fastPathApplies({ path: 'x', text: 'a: b: c\n' }, limits)).toBe(false);
  });

  it('defect (found by the loader fuzz): a mis-indented key or a tab in indentation is an error on every path', () => {
    // The CST files `  b:` under the outer map, and tabs sit in its space tokens: the fast path used to accept both.
    const cases: Array<[string, string, number, number]> = [
      ['spec:\n   x:\n        k: v\n  egress:\n    - a\n', 'All mapping items must start at the same column', 4, 1],
      ['spec:\n  \tendpointSelector: {}\n  egress:\n  - {}\n', 'Tabs are not allowed as indentation', 2, 3],
    ];
    for (const [text, message, line, col] of cases) {
      for (const options of [{}, { skipScan: true }, { composeOnly: true }]) {
        const r = parsePolicyText({ path: 'p.yaml', text }, limits, options);
        expect(r.diagnostics, JSON.stringify(options)).toMatchObject([{ code: 'yaml-syntax', message, pos: { file: 'p.yaml', line, col } }]);
      }
    }
  });

  it('resolves plain scalars like the yaml library (core schema)', () => {
    const alphabet = fc.constantFrom(...'0123456789+-.eExXoOabfinNtTrulsFALSE_~ '.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 1, maxLength: 8 }).map((a) => a.join('').trim()), (s) => {
        if (s === '' || /^[-?:,[\]{}#&*!|>'"%@`]/.test(s) || s.includes(' #') || s.includes(': ')) return;
        let expected: unknown;
        try {
          expected = parse(`v: ${s}\n`).v;
        } catch {
          return;
        }
        const got = resolvePlain(s);
        if (typeof expected === 'number' && Number.isNaN(expected)) expect(Number.isNaN(got as number)).toBe(true);
        else expect(got).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
