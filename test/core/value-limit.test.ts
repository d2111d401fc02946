/**
 * The per-file value limit bites where each load path first sees the values: the line scanner and the converters as
 * they count, and a pass over the lexer's tokens before yaml builds a syntax tree. Regression for a file of ~2 M
 * tiny values under the 8 MiB size limit that took ~16 s and ~2 GB before `yaml-too-large` was reported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicyText, resolveLoadLimits, type LoadLimits, type YNode } from '../../pipeline/core/load/index.js';
import type { ParseOptions } from '../../pipeline/core/load/parse-yaml.js';
import { valueLimitOffset } from '../../pipeline/core/load/value-bound.js';

const PATHS: Record<string, ParseOptions> = { default: {}, 'without the line scanner': { skipScan: true }, 'composer only': { composeOnly: true } };

/** Values as the loader counts them: every map, sequence and scalar, keys not counted. */
function countValues(node: YNode | null): number {
  if (node === null) return 0;
  if (node.kind === 'scalar') return 1;
  if (node.kind === 'seq') return 1 + node.items.reduce((n, v) => n + countValues(v), 0);
  return 1 + node.entries.reduce((n, e) => n + countValues(e.value), 0);
}

function tooLarge(text: string, limits: LoadLimits, options: ParseOptions = {}) {
  const r = parsePolicyText({ path: 'big.yaml', text }, limits, options);
  expect(r.documents).toEqual([]);
  expect(r.diagnostics).toHaveLength(1);
  return r.diagnostics[0]!;
}

describe('value limit', () => {
  it('defect: 8 MiB of tiny values is refused with yaml-too-large at the first value past the limit', () => {
    const limits = resolveLoadLimits();
    const size = 8 * 1024 * 1024 - 64;
    // Values: the sequence, then item k is value k + 1: the 2,000,000th item, on line 2,000,000, is the first past.
    expect(tooLarge('- 1\n'.repeat(size / 4), limits)).toEqual({
      code: 'yaml-too-large',
      severity: 'error',
      message: 'file has more than 2000000 values (maps, sequences and scalars, aliases expanded)',
      pos: { file: 'big.yaml', line: 2_000_000, col: 3 },
    });
    // An anchor on the first line: the line scanner declines at once and the lexer pass catches it.
    const anchored = tooLarge(`- &a 1\n${'- 1\n'.repeat(size / 4 - 2)}`, limits);
    expect(anchored).toMatchObject({ code: 'yaml-too-large', pos: { file: 'big.yaml', line: 2_000_000, col: 1 } });
  });

  it('reports files past the limit on every load path, near the first value past it', () => {
    const limits = resolveLoadLimits({ maxNodesPerFile: 10_000 });
    const map = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1\n`).join('');
    const blockSeq = '- 1\n'.repeat(20_000);
    const flowSeq = `[${'1, '.repeat(20_000)}1]\n`;
    const anchored = `- &a 1\n${'- *a\n'.repeat(50)}${'- 1\n'.repeat(20_000)}`;
    const nested = '- - 1\n'.repeat(10_000);
    const flowMaps = '- {a: 1, b: [2]}\n'.repeat(5_000);
    for (const [name, options] of Object.entries(PATHS)) {
      // Map: the map is value 1, key k_i's value is value i + 2; the 10,001st value is k9999's, on line 10,000 (the
      // scanner points at the value, the lexer pass at its `:`).
      expect(tooLarge(map, limits, options), name).toMatchObject({ code: 'yaml-too-large', pos: { line: 10_000 } });
      expect(tooLarge(blockSeq, limits, options), name).toMatchObject({ code: 'yaml-too-large', pos: { line: 10_000 } });
      for (const text of [flowSeq, anchored, nested, flowMaps]) {
        const d = tooLarge(text, limits, options);
        expect(d.code, name).toBe('yaml-too-large');
        // Never before the 10,000th value; at most a nesting allowance (65 values) after it.
        const line = d.pos!.line;
        const col = d.pos!.col;
        if (text === flowSeq) expect(line === 1 && col >= 3 * 10_000 - 2 && col < 3 * 10_100).toBe(true);
        if (text === anchored) expect(line >= 10_000 - 51 && line <= 10_000).toBe(true);
        if (text === nested) expect(line >= 5_000 - 1 && line <= 5_100).toBe(true);
        if (text === flowMaps) expect(line >= 10_000 / 5 - 1 && line <= 10_100 / 4).toBe(true);
      }
    }
  });

  it('never refuses a file that holds exactly the limit, whatever its style (lexer bound and tree counts are sound)', () => {
    const leaf = fc.oneof(fc.integer(), fc.constantFrom('a', 'x y', '', 'null', '-', ',', ':x', '"q"', "it's", 'a: b', '#c', '[1]'), fc.boolean(), fc.constant(null));
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 5 }), fc.dictionary(fc.constantFrom('a', 'b', 'k-1', 'x y', '1', 'true'), tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), fc.constantFrom('block', 'flow', 'json'), (docs, style) => {
        const text = docs
          .map((d) => (style === 'json' ? `${JSON.stringify(d)}\n` : stringify(d, style === 'flow' ? { collectionStyle: 'flow' } : {})))
          .join('---\n');
        const all = parsePolicyText({ path: 'p.yaml', text }, resolveLoadLimits());
        if (all.diagnostics.length > 0) return;
        const count = all.documents.reduce((n, d) => n + countValues(d.root) + (d.root === null ? 1 : 0), 0);
        const exact = resolveLoadLimits({ maxNodesPerFile: count });
        expect(valueLimitOffset(text, exact), text).toBe(-1);
        for (const options of Object.values(PATHS)) {
          expect(parsePolicyText({ path: 'p.yaml', text }, exact, options).diagnostics, text).toEqual([]);
        }
        if (count > 1) {
          const under = resolveLoadLimits({ maxNodesPerFile: count - 1 });
          for (const options of Object.values(PATHS)) {
            expect(parsePolicyText({ path: 'p.yaml', text }, under, options).diagnostics.map((d) => d.code), text).toEqual(['yaml-too-large']);
          }
        }
      }),
      { seed: 20261202, numRuns: 300 },
    );
  });
});
