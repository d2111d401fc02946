/**
 * IP addresses and prefixes as integer ranges, so that CIDR membership is two comparisons. Parsing and printing are
 * the model's (`core/model/cidr.ts`); this adds bare addresses and inclusive ranges. An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`) stays IPv6, as the datapath sees it.
 */
import { formatAddress, parseIPv4, parseIPv6, parsePrefix } from '../model/cidr.js';

/** An address as a family and an unsigned integer value (IPv4: 32 bits, IPv6: 128 bits). */
export interface IpValue {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** An inclusive address range of one family, the parsed form of a prefix. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly lo: bigint;
  readonly hi: bigint;
  /** Prefix length in bits. */
  readonly bits: number;
  /** IPv4 only: `lo` and `hi` as plain numbers (exact below 2^32), for comparisons without BigInt. */
  readonly lo4: number;
  readonly hi4: number;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone suffix `%eth0` is ignored).
 * @returns the family and integer value, or null when the text is not an address.
 */
export function parseIp(text: string): IpValue | null {
  const v4 = dottedQuadValue(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  if (text.includes(':')) {
    const zone = text.indexOf('%');
    const v = parseIPv6(zone >= 0 ? text.slice(0, zone) : text);
    return v === undefined ? null : { family: 6, value: v };
  }
  const v = parseIPv4(text);
  return v === undefined ? null : { family: 4, value: v };
}

/** Formats an address value as canonical text (RFC 5952 for IPv6). */
export function formatIp(ip: IpValue): string {
  return formatAddress(ip.family, ip.value);
}

/**
 * The canonical text of an address (dotted quad; IPv6 lower-case with the longest zero run compressed).
 * @returns null when the text is not an address.
 */
export function canonicalIp(text: string): string | null {
  // Dotted quads without leading zeros are already canonical: the common case, without allocation.
  if (dottedQuadValue(text) >= 0) return text;
  const ip = parseIp(text);
  return ip === null ? null : formatIp(ip);
}

/**
 * Parses a prefix `addr/bits`; a bare address is a host prefix. Host bits are masked off.
 * @returns the inclusive range, or null when the text is not a prefix.
 */
export function parseCidr(text: string): IpRange | null {
  let withBits = text;
  if (!text.includes('/')) {
    const ip = parseIp(text);
    if (ip === null) return null;
    withBits = `${text}/${ip.family === 4 ? 32 : 128}`;
  }
  const p = parsePrefix(withBits);
  if (p === undefined) return null;
  const hostBits = BigInt((p.family === 4 ? 32 : 128) - p.bits);
  const hi = p.addr + (1n << hostBits) - 1n;
  return { family: p.family, lo: p.addr, hi, bits: p.bits, lo4: p.family === 4 ? Number(p.addr) : -1, hi4: p.family === 4 ? Number(hi) : -1 };
}

/** True when the address lies in the range (same family, lo <= value <= hi). */
export function rangeContains(range: IpRange, ip: IpValue): boolean {
  return range.family === ip.family && ip.value >= range.lo && ip.value <= range.hi;
}

/**
 * An IPv4 address as a plain number, or -1 when the text is not IPv4 (IPv6, empty, malformed). Canonical dotted
 * quads take a character loop; other IPv4 spellings go through the general parser.
 */
export function ipv4Number(text: string): number {
  const v = dottedQuadValue(text);
  if (v >= 0 || text === '' || text.includes(':')) return v;
  const ip = parseIp(text);
  return ip !== null && ip.family === 4 ? Number(ip.value) : -1;
}

/**
 * The value of a canonical dotted quad (`10.0.0.1`; no leading zeros, each part <= 255), or -1 for anything else
 * (other spellings still parse through the general path). A character loop: this runs for every flow endpoint.
 */
function dottedQuadValue(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}
