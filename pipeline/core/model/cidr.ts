/**
 * IP prefixes: parsing, canonical text and containment, for IPv4 and IPv6. Pure arithmetic on bigints; no
 * dependency on node:net so the core stays free of I/O modules.
 */

/** A parsed prefix. `addr` has the host bits cleared. */
export interface Prefix {
  readonly family: 4 | 6;
  readonly addr: bigint;
  readonly bits: number;
}

/** Parses dotted IPv4 text into a 32-bit value; undefined when malformed (leading zeros are rejected, as Go does). */
export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into a 128-bit value; undefined when malformed. */
export function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined;
  let head = text;
  let tail: bigint | undefined;
  let tailGroups = 0;
  const lastColon = text.lastIndexOf(':');
  if (lastColon !== -1 && text.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
    tailGroups = 2;
  }
  const dbl = head.indexOf('::');
  if (dbl !== -1 && head.indexOf('::', dbl + 1) !== -1) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl !== -1) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tail !== undefined && tailGroups === 2) v = (v & ~0xffffffffn) | tail;
  return v;
}

function maskOf(family: 4 | 6, bits: number): bigint {
  const width = family === 4 ? 32 : 128;
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
}

/**
 * Parses `addr/bits` (IPv4 or IPv6). `hostBitsSet` tells whether the text had bits set beyond the prefix (Cilium
 * and Kubernetes accept and mask them). Returns undefined when the text is not a prefix.
 */
export function parsePrefix(text: string): (Prefix & { readonly hostBitsSet: boolean }) | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return undefined;
  const ip = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const family: 4 | 6 = ip.includes(':') ? 6 : 4;
  const raw = family === 4 ? parseIPv4(ip) : parseIPv6(ip);
  if (raw === undefined || bits > (family === 4 ? 32 : 128)) return undefined;
  const addr = raw & maskOf(family, bits);
  return { family, addr, bits, hostBitsSet: addr !== raw };
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6. */
export function formatAddress(family: 4 | 6, addr: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // Longest run of at least two zero groups is compressed (the first one on ties).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical prefix text, e.g. `10.0.0.0/8`, `fd00::/8`. */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.addr)}/${p.bits}`;
}

/** True when `inner` lies inside `outer` (same family, longer or equal prefix, same leading bits). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && inner.bits >= outer.bits && (inner.addr & maskOf(outer.family, outer.bits)) === outer.addr;
}

/** Canonical form of prefix text; undefined when it does not parse. */
export function canonicalPrefix(text: string): string | undefined {
  const p = parsePrefix(text);
  return p ? formatPrefix(p) : undefined;
}
