/**
 * The prefix index answers exactly as the linear scans it replaced: containment of an address (`rangeContains` over
 * every prefix) and the longer prefixes inside a prefix, and the outside party of a prefix is the one the scan over
 * all prefixes finds. Random prefix sets (fast-check, fixed seed) drawn from a few clusters so that prefixes nest,
 * repeat and touch; both families, every length.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, parseCidr, parseIp, rangeContains, type IpRange, type IpValue } from '../../pipeline/core/evaluate/ip-address.js';
import { worldViewOfPrefix, type AddressFacts } from '../../pipeline/core/compile/identities.js';
import { PrefixIndex } from '../../pipeline/core/compile/prefix-index.js';

const runs = { numRuns: 300, seed: 20261128 };

/** Addresses near a few bases, so that generated prefixes overlap. */
const address = (family: 4 | 6): fc.Arbitrary<IpValue> => {
  const width = family === 4 ? 32 : 128;
  const bases = family === 4 ? [0n, 0x0a000000n, 0x0a0a0000n, 0xc0a80100n, 0xffffff00n] : [0n, 0x20010db8n << 96n, (0x20010db8n << 96n) | 0xffffn, (1n << 128n) - 256n];
  return fc.tuple(fc.constantFrom(...bases), fc.bigInt({ min: 0n, max: 1023n }), fc.integer({ min: 0, max: width })).map(([base, off, shift]) => {
    // Either near the base or flipped at some bit: both ends of the space and the middle.
    const v = (base + off) ^ (shift === width ? 0n : 1n << BigInt(shift));
    return { family, value: v & ((1n << BigInt(width)) - 1n) };
  });
};

/** A prefix as text (host bits left set half of the time: the same range under two texts) and its range. */
const prefix = fc.constantFrom<4 | 6>(4, 6).chain((family) =>
  fc.tuple(address(family), fc.integer({ min: 0, max: family === 4 ? 32 : 128 })).map(([ip, bits]) => {
    const text = `${formatIp(ip)}/${bits}`;
    return { text, range: parseCidr(text)! };
  }),
);

const prefixSet = fc.array(prefix, { minLength: 0, maxLength: 40 });

const linearContaining = (ranges: readonly IpRange[], ip: IpValue): number[] => ranges.flatMap((r, i) => (rangeContains(r, ip) ? [i] : []));
const linearInside = (ranges: readonly IpRange[], range: IpRange): number[] =>
  ranges.flatMap((r, i) => (r.family === range.family && r.bits > range.bits && r.lo >= range.lo && r.hi <= range.hi ? [i] : []));

/** The outside party's address as the compiler found it before the index: every prefix scanned at every level. */
function linearWorldAddress(range: IpRange, prefixes: readonly IpRange[]): string {
  const width = range.family === 4 ? 32 : 128;
  const inner = prefixes.filter((r) => r.family === range.family && r.bits > range.bits && r.lo >= range.lo && r.hi <= range.hi);
  const free = (lo: bigint, bits: number): bigint | null => {
    const hi = lo + (1n << BigInt(width - bits)) - 1n;
    if (inner.some((r) => r.bits <= bits && r.lo <= lo && r.hi >= hi)) return null;
    if (!inner.some((r) => r.lo >= lo && r.hi <= hi)) return lo;
    if (bits >= width) return null;
    return free(lo, bits + 1) ?? free(lo + (1n << BigInt(width - bits - 1)), bits + 1);
  };
  return formatIp({ family: range.family, value: free(range.lo, range.bits) ?? range.lo });
}

describe('PrefixIndex', () => {
  it('containing(ip) equals the linear rangeContains scan', () => {
    const ips = fc.array(fc.constantFrom<4 | 6>(4, 6).chain(address), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(prefixSet, ips, (prefixes, probes) => {
        const ranges = prefixes.map((p) => p.range);
        const index = new PrefixIndex(ranges);
        // Random addresses plus every prefix's first and last address and their neighbours.
        const edges = ranges.flatMap((r) => [r.lo, r.hi, r.lo - 1n, r.hi + 1n].filter((v) => v >= 0n && v < 1n << BigInt(r.family === 4 ? 32 : 128)).map((value) => ({ family: r.family, value })));
        for (const ip of [...probes, ...edges]) expect(index.containing(ip)).toEqual(linearContaining(ranges, ip));
      }),
      runs,
    );
  });

  it('inside(range) equals the linear scan, for the set, its members and the catch-alls', () => {
    fc.assert(
      fc.property(prefixSet, fc.array(prefix, { maxLength: 10 }), (prefixes, extra) => {
        const ranges = prefixes.map((p) => p.range);
        const index = new PrefixIndex(ranges);
        const queries = [...ranges, ...extra.map((p) => p.range), parseCidr('0.0.0.0/0')!, parseCidr('::/0')!];
        for (const q of queries) expect(index.inside(q)).toEqual(linearInside(ranges, q));
      }),
      runs,
    );
  });

  it("worldViewOfPrefix picks the address the linear scan picks", () => {
    fc.assert(
      fc.property(prefixSet, (prefixes) => {
        const unique = [...new Map(prefixes.map((p) => [p.text, { ...p, podsToo: false }])).values()];
        const facts: AddressFacts = { prefixes: unique, fqdn: [], serviceIps: new Set(), egressPortNames: new Set() };
        const ranges = unique.map((p) => p.range);
        for (const q of [...ranges, parseCidr('0.0.0.0/0')!, parseCidr('::/0')!]) {
          expect(worldViewOfPrefix(q, facts).endpoint.ip).toBe(linearWorldAddress(q, ranges));
        }
      }),
      runs,
    );
  });

  it('finds a /32 inside 10.0.0.0/8 and the /8 around it (example)', () => {
    const ranges = ['10.0.0.0/8', '10.1.2.3/32', '10.1.0.0/16', '2001:db8::/32'].map((t) => parseCidr(t)!);
    const index = new PrefixIndex(ranges);
    expect(index.containing(parseIp('10.1.2.3')!)).toEqual([0, 1, 2]);
    expect(index.containing(parseIp('10.2.0.1')!)).toEqual([0]);
    expect(index.containing(parseIp('2001:db8::1')!)).toEqual([3]);
    expect(index.inside(ranges[0]!)).toEqual([1, 2]);
  });
});
