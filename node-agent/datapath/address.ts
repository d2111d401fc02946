/**
 * IP address and CIDR text ⇄ bytes, for map keys and synthesized packets: a bytes adapter over the pipeline core's
 * bigint parser and formatter (pipeline/core/model/cidr.ts). Strict: anything that is not a plain IPv4 dotted quad or
 * an RFC 4291 IPv6 text (with optional embedded IPv4) is refused, and so is a CIDR with host bits set.
 */
import { formatAddress as formatBigint, parseIPv4, parseIPv6 } from '../../pipeline/core/model/cidr.js';
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

/** Longest valid IPv6 text (six groups and a dotted quad); longer input is refused before parsing. */
const MAX_V6_TEXT = 45;

function toBytes(value: bigint, width: 4 | 16): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function toBigint(bytes: Uint8Array, width: 4 | 16): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return v;
}

/** The address as a bigint with its family; undefined when `text` is neither IPv4 nor IPv6. */
function parseValue(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (!text.includes(':')) {
    const v4 = parseIPv4(text);
    return v4 === undefined ? undefined : { family: 4, value: v4 };
  }
  const v6 = text.length > MAX_V6_TEXT ? undefined : parseIPv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

function badAddress(text: string): DatapathError {
  return new DatapathError('bad-address', `not an IPv4 or IPv6 address: ${JSON.stringify(text.slice(0, 64))}`);
}

/**
 * Parse an IPv4 or IPv6 address.
 * @throws DatapathError `bad-address` when `text` is neither.
 */
export function parseAddress(text: string): AddressBytes {
  const parsed = parseValue(text);
  if (!parsed) throw badAddress(text);
  return { family: parsed.family, bytes: toBytes(parsed.value, parsed.family === 4 ? 4 : 16) };
}

/**
 * Parse `addr/len` (or a bare address = host prefix). Host bits below the prefix must be zero.
 * @throws DatapathError `bad-address` on malformed text, a length out of range, or host bits set.
 */
export function parseCidr(text: string): CidrBytes {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const parsed = parseValue(addrText);
  if (!parsed) throw badAddress(addrText);
  const max = parsed.family === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    // Not core's parsePrefix: this accepts a zero-padded length ("/08") as it always has, and refuses host bits.
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new DatapathError('bad-address', `bad prefix length in ${JSON.stringify(text.slice(0, 64))} (0..${max})`);
    }
    prefixLen = Number(lenText);
  }
  if ((parsed.value & ((1n << BigInt(max - prefixLen)) - 1n)) !== 0n) {
    throw new DatapathError('bad-address', `${text} has host bits set below /${prefixLen}`);
  }
  return { family: parsed.family, bytes: toBytes(parsed.value, max === 32 ? 4 : 16), prefixLen };
}

/**
 * Format address bytes as text (IPv6 in RFC 5952 form: lowercase, longest zero run compressed). Reads the first 4
 * (IPv4) or 16 (IPv6) bytes.
 */
export function formatAddress(family: 4 | 6, bytes: Uint8Array): string {
  return formatBigint(family, toBigint(bytes, family === 4 ? 4 : 16));
}
