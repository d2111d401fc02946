/**
 * Port ranges as power-of-two prefixes, the form an LPM trie on a 16-bit port can hold (Cilium does the same).
 */

/** One aligned block of ports: `port` with its top `prefixLen` bits significant (0 = every port, 16 = one port). */
export interface PortPrefix {
  readonly port: number;
  readonly prefixLen: number;
}

/**
 * Splits the inclusive range `from..to` (0..65535) into the fewest aligned power-of-two blocks, in ascending order.
 * @returns [] when from > to.
 */
export function splitPortRange(from: number, to: number): PortPrefix[] {
  const out: PortPrefix[] = [];
  let lo = from;
  while (lo <= to) {
    // The largest aligned block starting at lo that stays inside the range.
    let size = lo === 0 ? 65536 : lo & -lo;
    while (lo + size - 1 > to) size >>= 1;
    out.push({ port: lo, prefixLen: 16 - Math.log2(size) });
    lo += size;
  }
  return out;
}
