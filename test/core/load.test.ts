/** The loader: JSON, multi-document YAML, Lists, CRLF and BOM, positions of keys and values, bounds. */
import { describe, expect, it } from 'vitest';
import { parsePolicyText, documentObjects, resolveLoadLimits, field, keyPos } from '../../pipeline/core/load/index.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';

const limits = resolveLoadLimits();

describe('loader', () => {
  it('reads JSON with positions', () => {
    const text = '{\n  "apiVersion": "cilium.io/v2",\n  "kind": "CiliumNetworkPolicy",\n  "metadata": {"name": "j", "namespace": "x"},\n  "spec": {"endpointSelector": {}, "ingress": [{"toPorts": [{"ports": [{"port": 80}]}]}]}\n}\n';
    const r = loadPolicyModel([{ path: 'p.json', text }]);
    expect(r.diagnostics).toMatchObject([{ code: 'schema-type', pos: { file: 'p.json', line: 5, col: 81 } }]);
    const ok = loadPolicyModel([{ path: 'p.json', text: text.replace('"port": 80', '"port": "80"') }]);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.model.specs[0]!.rules[0]!.pos).toEqual({ file: 'p.json', line: 5, col: 48 });
  });

  it('splits multi-document files and expands List and *List kinds', () => {
    const text = 'kind: A\n---\n---\napiVersion: v1\nkind: CiliumNetworkPolicyList\nitems:\n  - kind: B\n  - kind: C\n';
    const parsed = parsePolicyText({ path: 'm.yaml', text }, limits);
    expect(parsed.diagnostics).toEqual([]);
    const objects = parsed.documents.flatMap(documentObjects);
    expect(objects.map((o) => [o.docIndex, o.listIndex, o.pos.line])).toEqual([
      [0, undefined, 1],
      [2, 0, 7],
      [2, 1, 8],
    ]);
  });

  it('handles CRLF line endings and a byte-order mark', () => {
    const text = '\uFEFFa: 1\r\nb:\r\n  c: [x, y]\r\n';
    const parsed = parsePolicyText({ path: 'w.yaml', text }, limits);
    expect(parsed.diagnostics).toEqual([]);
    const root = parsed.documents[0]!.root!;
    expect(keyPos(field(root, 'b')!, 'c')).toEqual({ file: 'w.yaml', line: 3, col: 3 });
    expect((field(field(root, 'b'), 'c') as { items: Array<{ pos: unknown }> }).items[1]!.pos).toEqual({ file: 'w.yaml', line: 3, col: 10 });
  });

  it('keeps later documents of a file when an earlier one is broken', () => {
    const text = 'a: [1\n---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: ok}\nspec: {endpointSelector: {}, ingress: [{}]}\n';
    const r = loadPolicyModel([{ path: 'k.yaml', text }]);
    expect(r.diagnostics.every((d) => d.code.startsWith('yaml-') && d.pos.line === 1 || d.pos.line === 2)).toBe(true);
    expect(r.model.specs.map((s) => s.policy.name)).toEqual(['ok']);
  });

  it('expands aliases within bounds, reporting the alias position', () => {
    const parsed = parsePolicyText({ path: 'a.yaml', text: 'x: &p {port: "80"}\ny: *p\n' }, limits);
    expect(parsed.diagnostics).toEqual([]);
    expect(field(parsed.documents[0]!.root!, 'y')).toMatchObject({ kind: 'map', pos: { line: 2, col: 4 } });
  });

  it('finds a duplicate key in a map of 50,000 keys on every path (no quadratic check)', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}: 1\n`).join('');
    const anchored = Array.from({ length: 50_000 }, (_, i) => `k${i}: &a${i} 1\n`).join('');
    const quotedKey = '"q": 1\n' + keys;
    for (const [name, text, line] of [
      ['plain (line scanner, then composer)', keys, 50_001],
      ['quoted key (CST fast path, then composer)', quotedKey, 50_002],
      ['anchors (composer)', anchored, 50_001],
    ] as const) {
      const clean = parsePolicyText({ path: 'w.yaml', text }, limits);
      expect(clean.diagnostics, name).toEqual([]);
      expect(clean.documents[0]!.root, name).toMatchObject({ kind: 'map' });
      const dup = parsePolicyText({ path: 'w.yaml', text: text + 'k7: 2\n' }, limits);
      expect(dup.diagnostics, name).toMatchObject([{ code: 'yaml-duplicate-key', pos: { line, col: 1 } }]);
      expect(dup.documents[0]!.failed, name).toBe(true);
    }
    // Small maps keep the yaml library's own duplicate-key report.
    expect(parsePolicyText({ path: 's.yaml', text: 'a: 1\na: 2\n' }, limits).diagnostics).toMatchObject([{ code: 'yaml-duplicate-key', message: 'Map keys must be unique', pos: { line: 2, col: 1 } }]);
  });

  it('treats keys and kinds named like Object.prototype members as plain data', () => {
    const policy = (extra: string): string =>
      `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: n\nspec:\n  endpointSelector:\n    matchLabels:\n      constructor: x\n  constructor: 1\n  toString: 2\n  ingress:\n    - __proto__: {a: ${extra}}\n`;
    const r = loadPolicyModel([{ path: 'p.yaml', text: policy('1') }]);
    expect(r.diagnostics.map((d) => [d.code, d.pos.line, d.message])).toEqual([
      ['schema-unknown-field', 10, 'unknown field spec.constructor is ignored (Kubernetes prunes it)'],
      ['schema-unknown-field', 11, 'unknown field spec.toString is ignored (Kubernetes prunes it)'],
      ['schema-unknown-field', 13, 'unknown field spec.ingress[0].__proto__ is ignored (Kubernetes prunes it)'],
    ]);
    expect(r.model.specs[0]!.subjectKind).toBe('endpoints');
    expect(JSON.stringify(r.model.specs[0]!.subject)).toContain('constructor');
    // Two copies differing only under `__proto__` are different content, not an identical duplicate.
    const dup = loadPolicyModel([{ path: 'p.yaml', text: policy('1') + '---\n' + policy('2') }]);
    expect(dup.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['duplicate-policy']);
    const kinds = loadPolicyModel([{ path: 'k.yaml', text: 'kind: constructor\n---\nkind: __proto__\n---\nkind: toString\n---\nkind: toString\n' }]);
    expect(kinds.stats.skipped).toEqual(JSON.parse('{"__proto__": 1, "constructor": 1, "toString": 2}'));
    expect(Object.keys(kinds.stats.skipped)).toEqual(['__proto__', 'constructor', 'toString']);
  });
});
