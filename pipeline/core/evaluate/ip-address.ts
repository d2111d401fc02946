/**
 * IP addresses and prefixes as integers, so that CIDR membership is two comparisons. IPv4 and IPv6 live in separate
 * families; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stays IPv6, as the datapath sees it.
 */

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

function parseIpv4Number(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function parseIpv6Groups(text: string): number[] | null {
  let body = text;
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  // A trailing dotted quad is rewritten as its two hex groups.
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.indexOf('.', lastColon) >= 0) {
    const v4 = parseIpv4Number(body.slice(lastColon + 1));
    if (v4 === null) return null;
    body = `${body.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0] ?? '');
  if (head === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const rest = parse(halves[1] ?? '');
  if (rest === null) return null;
  const fill = 8 - head.length - rest.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}

/**
 * Parses an IPv4 or IPv6 address.
 * @returns the family and integer value, or null when the text is not an address.
 */
export function parseIp(text: string): IpValue | null {
  if (text.includes(':')) {
    const groups = parseIpv6Groups(text);
    if (groups === null) return null;
    let value = 0n;
    for (const g of groups) value = (value << 16n) | BigInt(g);
    return { family: 6, value };
  }
  const v4 = parseIpv4Number(text);
  return v4 === null ? null : { family: 4, value: BigInt(v4) };
}

/**
 * The canonical text of an address (IPv4 dotted quad; IPv6 lower-case, longest zero run compressed, RFC 5952).
 * @returns null when the text is not an address.
 */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip === null ? null : formatIp(ip);
}

/** Formats an address value as canonical text (RFC 5952 for IPv6). */
export function formatIp(ip: IpValue): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of two or more zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parses a prefix `addr/bits` (a bare address is a host prefix). Host bits are masked off.
 * @returns the inclusive range, or null when the text is not a prefix.
 */
export function parseCidr(text: string): IpRange | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (ip === null) return null;
  const width = ip.family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > width) return null;
  }
  const hostBits = BigInt(width - bits);
  const lo = (ip.value >> hostBits) << hostBits;
  const hi = lo + (1n << hostBits) - 1n;
  return { family: ip.family, lo, hi, bits };
}

/** True when the address lies in the range (same family, lo <= value <= hi). */
export function rangeContains(range: IpRange, ip: IpValue): boolean {
  return range.family === ip.family && ip.value >= range.lo && ip.value <= range.hi;
}
