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
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone suffix `%eth0` is ignored).
 * @returns the family and integer value, or null when the text is not an address.
 */
export function parseIp(text: string): IpValue | null {
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
  return { family: p.family, lo: p.addr, hi: p.addr + (1n << hostBits) - 1n, bits: p.bits };
}

/** True when the address lies in the range (same family, lo <= value <= hi). */
export function rangeContains(range: IpRange, ip: IpValue): boolean {
  return range.family === ip.family && ip.value >= range.lo && ip.value <= range.hi;
}
