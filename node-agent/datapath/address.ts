/**
 * IP address and CIDR text ⇄ bytes, for map keys and synthesized packets. Strict: anything that is not a plain
 * IPv4 dotted quad or an RFC 4291 IPv6 text (with optional embedded IPv4) is refused.
 */
import { DatapathError } from './errors.js';

/** An address as bytes: 4 for IPv4, 16 for IPv6, network order. */
export interface AddressBytes {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A CIDR prefix as bytes. `prefixLen` counts address bits (0..32 or 0..128). */
export interface CidrBytes extends AddressBytes {
  readonly prefixLen: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): Uint8Array | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1] as string;
    if (part.length > 1 && part.startsWith('0')) return undefined; // no octal-looking parts
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  if (text.length > 45) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    tail4 = parseV4(text.slice(lastColon + 1));
    if (!tail4) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0] as string);
  const right = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!left || !right) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

/**
 * Parse an IPv4 or IPv6 address.
 * @throws DatapathError `bad-address` when `text` is neither.
 */
export function parseAddress(text: string): AddressBytes {
  const v4 = parseV4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw new DatapathError('bad-address', `not an IPv4 or IPv6 address: ${JSON.stringify(text.slice(0, 64))}`);
}

/**
 * Parse `addr/len` (or a bare address = host prefix). Host bits below the prefix must be zero.
 * @throws DatapathError `bad-address` on malformed text, a length out of range, or host bits set.
 */
export function parseCidr(text: string): CidrBytes {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  const max = addr.family === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new DatapathError('bad-address', `bad prefix length in ${JSON.stringify(text.slice(0, 64))} (0..${max})`);
    }
    prefixLen = Number(lenText);
  }
  for (let bit = prefixLen; bit < max; bit++) {
    if (((addr.bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1) {
      throw new DatapathError('bad-address', `${text} has host bits set below /${prefixLen}`);
    }
  }
  return { ...addr, prefixLen };
}

/** Format address bytes as text (IPv6 in RFC 5952 form: lowercase, longest zero run compressed). */
export function formatAddress(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number));
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
