/**
 * The protocol-and-port part of a policy key as a prefix, and containment between such prefixes. Mirrors the bit
 * layout of `struct policy_key` after the fixed 64 bits: protocol (8), pad (8), port (16); a protocol wildcard
 * wildcards the port too.
 */

/** Protocol 0 = any protocol (then port 0, portPrefixLen 0). */
export interface L4Prefix {
  readonly protocol: number;
  readonly port: number;
  readonly portPrefixLen: number;
}

/** The every-protocol, every-port prefix. */
export const ANY_L4: L4Prefix = Object.freeze({ protocol: 0, port: 0, portPrefixLen: 0 });

/** The key's prefixlen in bits, as `struct policy_key` counts it: 64, or 80 + port bits. */
export function keyPrefixLen(p: L4Prefix): number {
  return p.protocol === 0 ? 64 : 80 + p.portPrefixLen;
}

/** True when every packet `inner` matches also matches `outer`. */
export function l4Contains(outer: L4Prefix, inner: L4Prefix): boolean {
  if (outer.protocol === 0) return true;
  if (outer.protocol !== inner.protocol || outer.portPrefixLen > inner.portPrefixLen) return false;
  const shift = 16 - outer.portPrefixLen;
  return outer.portPrefixLen === 0 || outer.port >>> shift === inner.port >>> shift;
}

/** A stable text key. */
export function l4Key(p: L4Prefix): string {
  return `${p.protocol}/${p.port}/${p.portPrefixLen}`;
}

/** Orders by protocol, port, prefix length. */
export function compareL4(a: L4Prefix, b: L4Prefix): number {
  return a.protocol - b.protocol || a.port - b.port || a.portPrefixLen - b.portPrefixLen;
}
