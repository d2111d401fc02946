/**
 * The line scanner (the loader's first path) must give exactly what composing yaml Documents gives whenever it
 * answers — same values, same positions, same documents — and must answer for ordinary policy files, or it is dead
 * weight. Checked over the corpus, the template, the benchmark's generated policies and random YAML-like text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatedPolicy } from '../../bench/lib/validate-policies.js';
import { resolveLoadLimits } from '../../pipeline/core/load/limits.js';
import { scanPolicyText } from '../../pipeline/core/load/line-scan.js';
import { parsePolicyText } from '../../pipeline/core/load/parse-yaml.js';
import { CORPUS_CILIUM, REPO_ROOT, corpusAvailable, listFiles } from '../corpus/corpus-dir.js';

const limits = resolveLoadLimits();

/** The scanner's answer next to the composer's, as comparable JSON; `scanned` is undefined when it declined. */
function both(file: { path: string; text: string }, lim = limits): { scanned: string | undefined; composed: string } {
  const scanned = scanPolicyText(file.path, file.text, lim);
  const composed = parsePolicyText(file, lim, { composeOnly: true });
  return { scanned: scanned === undefined ? undefined : JSON.stringify(scanned), composed: JSON.stringify(composed) };
}

function realFiles(): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const template = path.join(REPO_ROOT, 'policy-repo-template', 'policies');
  for (const f of listFiles(template)) out.push({ path: f, text: readFileSync(path.join(template, f), 'utf8') });
  if (corpusAvailable()) for (const f of listFiles(CORPUS_CILIUM)) out.push({ path: f, text: readFileSync(path.join(CORPUS_CILIUM, f), 'utf8') });
  return out;
}

describe('line scanner', () => {
  it('matches the composer on the template and the corpus, and handles most plain files', () => {
    const files = realFiles();
    let scanned = 0;
    for (const f of files) {
      const r = both(f);
      if (r.scanned === undefined) continue;
      scanned++;
      expect(r.scanned, f.path).toBe(r.composed);
    }
    const plain = files.filter((f) => !f.text.includes('{{') && !f.path.endsWith('.json'));
    expect(scanned / plain.length).toBeGreaterThan(0.6);
  });

  it('handles every generated benchmark policy, identically to the composer', () => {
    const docs: string[] = [];
    for (let i = 0; i < 40; i++) docs.push(generatedPolicy(i));
    const file = { path: 'gen.yaml', text: docs.join('---\n') };
    const r = both(file);
    expect(r.scanned).toBeDefined();
    expect(r.scanned).toBe(r.composed);
    expect(JSON.parse(r.composed).documents).toHaveLength(40);
  });

  it('declines what it does not fully understand, so the general path reports it', () => {
    const declined = [
      'a: &x 1\nb: *x\n',
      'a: b: c\n',
      'a:\n  b: 1\n c: 2\n',
      'a: 1\na: 2\n',
      'a: "x\\ty"\n',
      'a: |\n  lit\n',
      'a: {b: [1]}\n',
      'a: {b: }\n',
      'a: [x, ]\n',
      '- - x\n',
      'a:\tb\n',
      'a: 1\r\nb: 2\r\n',
      'a: 1\n---\n',
      'name: {{ .Values.name }}\n',
      'a: plain\n  continued\n',
      '"q": 1\n',
      'a: 1 # ok\nb: "x"#bad\n',
      'just a scalar\n',
    ];
    for (const text of declined) expect(scanPolicyText('x.yaml', text, limits), JSON.stringify(text)).toBeUndefined();
    // Bounds: past the depth limit the scanner declines and the general path reports it; past the value limit the
    // scanner reports it itself, at the first value past it (where the composer reports it too).
    const deep = 'a:\n' + Array.from({ length: 10 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:\n`).join('') + `${'  '.repeat(11)}v: 1\n`;
    expect(scanPolicyText('d.yaml', deep, limits)).toBeDefined();
    expect(scanPolicyText('d.yaml', deep, resolveLoadLimits({ maxDepth: 5 }))).toBeUndefined();
    const four = resolveLoadLimits({ maxNodesPerFile: 4 });
    const tooMany = scanPolicyText('n.yaml', 'a: [1, 2, 3, 4]\n', four);
    expect(tooMany).toMatchObject({ documents: [], diagnostics: [{ code: 'yaml-too-large', pos: { file: 'n.yaml', line: 1, col: 11 } }] });
    expect(parsePolicyText({ path: 'n.yaml', text: 'a: [1, 2, 3, 4]\n' }, four, { composeOnly: true }).diagnostics).toEqual(tooMany!.diagnostics);
    expect(scanPolicyText('m.yaml', 'a: 1\n---\nb: 2\n', resolveLoadLimits({ maxDocumentsPerFile: 1 }))).toBeUndefined();
    // The value limit is per file, across documents, as on the other paths.
    const twoDocs = 'a: [1, 2]\n---\nb: [3, 4]\n';
    expect(scanPolicyText('n.yaml', twoDocs, resolveLoadLimits({ maxNodesPerFile: 8 }))).toBeDefined();
    const seven = resolveLoadLimits({ maxNodesPerFile: 7 });
    expect(scanPolicyText('n.yaml', twoDocs, seven)).toMatchObject({ diagnostics: [{ code: 'yaml-too-large', pos: { line: 3, col: 8 } }] });
    expect(parsePolicyText({ path: 'n.yaml', text: twoDocs }, seven, { composeOnly: true }).diagnostics).toEqual(scanPolicyText('n.yaml', twoDocs, seven)!.diagnostics);
    expect(parsePolicyText({ path: 'n.yaml', text: twoDocs }, resolveLoadLimits({ maxNodesPerFile: 7 })).diagnostics).toMatchObject([{ code: 'yaml-too-large' }]);
  });

  it('agrees with the composer on random YAML-like text whenever it answers', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'k8s:app', 'true', '1', '0x1F', 'null', 'port', 'a.b/c', 'x-y', 'a b', '"q"');
    const scalar = fc.constantFrom(
      'v', '80', '"80"', "'it''s'", '-1', '~', 'null', '1e3', '.inf', 'a b', 'a #c', 'x:y', '/api/[0-9]+', '"*.x"', "''",
      '[]', '{}', '[a, "b", 1]', '[a,b]', '[ ]', '[a, ]', '{ }', '"a\\"b"', '&x v', '*x', '!tag v', '|', '>-', '- x', 'a: b', '@x', '`x',
      '"unterminated', 'TRUE', '0o17', '+12', 'é', '', '::/0', ':x', '?x', ': x', '? x',
      '{a: 1}', '{ key: k8s-app, operator: In }', '{a: "x", b: \'y\'}', '{a: 1, a: 2}', '{a:1}', '{a: }', '{a: [b]}', '{k8s:app: x}',
      '{ }', '[a, b, ]', '{a: 1,}', '{"a": 1}', '{a: 1} # c', '[x]#c',
    );
    const indent = fc.constantFrom('', '', '  ', '  ', '    ', '      ', ' ', '   ');
    const line = fc.oneof(
      fc.tuple(indent, key, scalar).map(([i, k, v]) => `${i}${k}: ${v}`),
      fc.tuple(indent, key).map(([i, k]) => `${i}${k}:`),
      fc.tuple(indent, scalar).map(([i, v]) => `${i}- ${v}`),
      fc.tuple(indent, key, scalar).map(([i, k, v]) => `${i}- ${k}: ${v}`),
      fc.tuple(indent, key).map(([i, k]) => `${i}- ${k}:`),
      indent.map((i) => `${i}-`),
      indent.map((i) => `${i}# comment`),
      fc.constantFrom('---', '', '...', '--- x'),
    );
    let answered = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, trailingNewline) => {
        const text = lines.join('\n') + (trailingNewline ? '\n' : '');
        const r = both({ path: 'r.yaml', text });
        if (r.scanned === undefined) return;
        answered++;
        expect(r.scanned, JSON.stringify(text)).toBe(r.composed);
      }),
      { numRuns: 4000 },
    );
    // The property must not hold vacuously.
    expect(answered).toBeGreaterThan(200);
  });
});
