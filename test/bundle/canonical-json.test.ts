import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from '../../pipeline/core/bundle/index.js';

/** The straightforward definition (map/filter/join) the optimised writer must agree with byte for byte. */
function reference(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : reference(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
}

/** JSON values, with undefined members and array items mixed in (canonical JSON drops / nulls them). */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.string({ unit: 'binary' })),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('arr'), tie('obj')),
  arr: fc.array(fc.oneof(tie('node'), fc.constant(undefined)), { maxLength: 6 }),
  obj: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '2', '__proto__', 'toString')), fc.oneof(tie('node'), fc.constant(undefined)), { maxKeys: 6 }),
})).node;

describe('canonical JSON', () => {
  it('agrees byte for byte with the reference definition, and with JSON.parse', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = canonicalJson(v);
        expect(text).toBe(reference(v));
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(new TextDecoder().decode(canonicalJsonBytes(v))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order members were inserted in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer(), { maxKeys: 8 }), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(canonicalJson({ x: reversed })).toBe(canonicalJson({ x: o }));
      }),
    );
  });

  it('refuses values JSON cannot hold faithfully', () => {
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson({ b: 1n })).toThrow(TypeError);
  });
});
