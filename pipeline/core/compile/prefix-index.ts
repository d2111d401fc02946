/**
 * An index over a fixed list of prefixes for the two questions the identity allocator asks of every party and every
 * prefix: which prefixes contain an address, and which longer prefixes lie inside a prefix. A linear scan answers
 * both in O(prefixes), so a model with 10,000 CIDR peers cost 10⁸ comparisons per table build; here containment is
 * one map lookup per prefix length present (at most 33 for IPv4, 129 for IPv6) and "inside" is a binary search over
 * the prefixes sorted by base address.
 */
import type { IpRange, IpValue } from '../evaluate/ip-address.js';

/** Prefixes of one family: by length, then by network address; and all of them sorted by base address. */
interface FamilyIndex<K> {
  /** Prefix lengths present, ascending. */
  readonly lengths: number[];
  /** length → network address → positions in the indexed list (ascending). */
  readonly byLength: Map<number, Map<K, number[]>>;
  /** Positions sorted by base address (ties by position), for range scans. */
  readonly byLo: number[];
}

/** Index over `ranges`; positions refer to that list. Build with `prefixIndexOf`. */
export class PrefixIndex {
  private readonly v4: FamilyIndex<number>;
  private readonly v6: FamilyIndex<bigint>;

  /** @param ranges the prefixes, in the order whose positions the answers use */
  constructor(private readonly ranges: readonly IpRange[]) {
    this.v4 = buildFamily(ranges, 4, (r) => r.lo4);
    this.v6 = buildFamily(ranges, 6, (r) => r.lo);
  }

  /**
   * Positions of the prefixes that contain `ip`, ascending: the same as filtering the list with `rangeContains`.
   * @returns a fresh array (possibly empty)
   */
  containing(ip: IpValue): number[] {
    const out: number[] = [];
    if (ip.family === 4) {
      const v = Number(ip.value);
      for (const bits of this.v4.lengths) {
        // The network address of `v` at this length; exact in doubles below 2^32.
        const block = 2 ** (32 - bits);
        const hit = this.v4.byLength.get(bits)!.get(v - (v % block));
        if (hit) out.push(...hit);
      }
    } else {
      for (const bits of this.v6.lengths) {
        const hit = this.v6.byLength.get(bits)!.get(ip.value & networkMask6(bits));
        if (hit) out.push(...hit);
      }
    }
    // Several lengths each give an ascending run; callers expect list order.
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /**
   * Positions of the prefixes of `range`'s family that are longer than `range` and lie inside it (lo >= range.lo,
   * hi <= range.hi), ascending.
   * @returns a fresh array (possibly empty)
   */
  inside(range: IpRange): number[] {
    const fam = range.family === 4 ? this.v4 : this.v6;
    const order = fam.byLo;
    // First position whose base is >= range.lo; every prefix inside the range starts in [range.lo, range.hi].
    let a = 0;
    let b = order.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.ranges[order[mid]!]!.lo < range.lo) a = mid + 1;
      else b = mid;
    }
    const out: number[] = [];
    for (let i = a; i < order.length; i++) {
      const r = this.ranges[order[i]!]!;
      if (r.lo > range.hi) break;
      if (r.bits > range.bits && r.hi <= range.hi) out.push(order[i]!);
    }
    return out.sort((x, y) => x - y);
  }
}

const MASKS6: bigint[] = [];

/** The IPv6 network mask of a prefix length (high `bits` bits set). */
function networkMask6(bits: number): bigint {
  let m = MASKS6[bits];
  if (m === undefined) {
    m = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
    MASKS6[bits] = m;
  }
  return m;
}

function buildFamily<K>(ranges: readonly IpRange[], family: 4 | 6, keyOf: (r: IpRange) => K): FamilyIndex<K> {
  const byLength = new Map<number, Map<K, number[]>>();
  const byLo: number[] = [];
  ranges.forEach((r, i) => {
    if (r.family !== family) return;
    let level = byLength.get(r.bits);
    if (!level) byLength.set(r.bits, (level = new Map()));
    const key = keyOf(r);
    const at = level.get(key);
    if (at) at.push(i);
    else level.set(key, [i]);
    byLo.push(i);
  });
  byLo.sort((x, y) => {
    const a = ranges[x]!.lo;
    const b = ranges[y]!.lo;
    return a < b ? -1 : a > b ? 1 : x - y;
  });
  return { lengths: [...byLength.keys()].sort((a, b) => a - b), byLength, byLo };
}

const INDEXES = new WeakMap<readonly { readonly range: IpRange }[], PrefixIndex>();

/**
 * The index of a prefix list, built on first use and kept as long as the list is alive. The list must not change
 * afterwards (`gatherAddressFacts` freezes `AddressFacts.prefixes`).
 */
export function prefixIndexOf(prefixes: readonly { readonly range: IpRange }[]): PrefixIndex {
  let index = INDEXES.get(prefixes);
  if (!index) {
    index = new PrefixIndex(prefixes.map((p) => p.range));
    INDEXES.set(prefixes, index);
  }
  return index;
}
