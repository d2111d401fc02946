/**
 * The bundle file's container: POSIX ustar, written by hand so that it is deterministic (fixed mode 0644, uid/gid 0,
 * mtime 0, no user names, entries in a fixed order) and read strictly (only what the writer produces is accepted).
 * Any `tar` can list and extract a bundle, which keeps it inspectable without Palisade.
 */
import { BundleError } from './errors.js';

/** One regular file in the archive. */
export interface TarEntry {
  /** ASCII path, at most 99 bytes, no leading `/`, no `..`. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** ustar block size in bytes. */
export const TAR_BLOCK = 512;

/** The archive size `entries` of these data sizes produce: headers, padded data and the two-block end marker. */
export function tarSize(dataSizes: readonly number[]): number {
  return dataSizes.reduce((n, s) => n + TAR_BLOCK + paddedSize(s), 0) + 2 * TAR_BLOCK;
}

/** `size` rounded up to whole 512-byte blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/**
 * Writes `entries` as a ustar archive, in the order given.
 * @throws BundleError `bundle-malformed` for a name the format cannot hold.
 */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const out = new Uint8Array(tarSize(entries.map((e) => e.bytes.byteLength)));
  let off = 0;
  for (const e of entries) {
    out.set(tarHeader(e.name, e.bytes.byteLength), off);
    off += TAR_BLOCK;
    out.set(e.bytes, off);
    off += paddedSize(e.bytes.byteLength);
  }
  return out; // the end marker is the zero-filled tail
}

const NAME_RE = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._\/-]{1,99}$/;

function tarHeader(name: string, size: number): Uint8Array {
  if (!NAME_RE.test(name)) throw new BundleError('bundle-malformed', `tar: name '${name}' not allowed`);
  if (!Number.isSafeInteger(size) || size < 0 || size > 0o77777777777) throw new BundleError('bundle-malformed', `tar: size ${size} out of range`);
  const h = new Uint8Array(TAR_BLOCK);
  const put = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) h[offset + i] = text.charCodeAt(i);
  };
  put(0, name);
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, size.toString(8).padStart(11, '0') + '\0');
  put(136, '00000000000\0');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  put(148, '        ');
  put(148, checksum(h).toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

/** A parsed header: the entry's name and data size. `null` from {@link parseTarHeader} means an end block. */
export interface TarHeader {
  readonly name: string;
  readonly size: number;
}

/**
 * The ustar header fields: name, offset and length in bytes (`padding` is the unused tail). In block order, except
 * that the checksum comes last: a hand-made header has a correct checksum, and the reason should name what was made.
 */
const HEADER_FIELDS: readonly (readonly [field: string, offset: number, length: number])[] = [
  ['name', 0, 100], ['mode', 100, 8], ['uid', 108, 8], ['gid', 116, 8], ['size', 124, 12], ['mtime', 136, 12],
  ['typeflag', 156, 1], ['linkname', 157, 100], ['magic', 257, 6], ['version', 263, 2], ['uname', 265, 32],
  ['gname', 297, 32], ['devmajor', 329, 8], ['devminor', 337, 8], ['prefix', 345, 155], ['padding', 500, 12],
  ['checksum', 148, 8],
];

/**
 * Parses one 512-byte header block exactly as {@link writeTar} writes it: after the name and size are read, the
 * block must equal, byte for byte, the header the writer makes for that name and size. So mode, owner, times, type,
 * link name, device numbers, magic and every unused byte are fixed, and a setuid, linked or foreign entry is refused.
 * @returns the header, or null for an all-zero block (end of archive).
 * @throws BundleError `bundle-malformed` naming the entry and the first field that differs (entry text escaped).
 */
export function parseTarHeader(block: Uint8Array): TarHeader | null {
  if (block.byteLength !== TAR_BLOCK) throw new BundleError('bundle-malformed', 'tar: short header block');
  if (block.every((b) => b === 0)) return null;
  const field = (offset: number, len: number): Uint8Array => block.subarray(offset, offset + len);
  const bad = (what: string): never => {
    throw new BundleError('bundle-malformed', `tar: ${what}`);
  };
  if (latin1(field(257, 8)) !== 'ustar\u000000') bad(`not a ustar header (magic and version "${escapeBytes(field(257, 8))}")`);
  const rawName = field(0, 100);
  const nul = rawName.indexOf(0);
  const name = latin1(nul < 0 ? rawName : rawName.subarray(0, nul));
  if (!NAME_RE.test(name)) bad(`entry name "${escapeBytes(rawName.subarray(0, nul < 0 ? 100 : nul))}" not allowed`);
  const sizeText = latin1(field(124, 12));
  if (!/^[0-7]{11}\0$/.test(sizeText)) bad(`'${name}': size field "${escapeBytes(field(124, 12))}" is not 11 octal digits and NUL`);
  const size = parseInt(sizeText.slice(0, 11), 8);
  const expected = tarHeader(name, size);
  for (const [what, offset, len] of HEADER_FIELDS) {
    const got = field(offset, len);
    const want = expected.subarray(offset, offset + len);
    if (!got.every((b, i) => b === want[i])) {
      bad(`'${name}': ${what} field is "${escapeBytes(got)}", the format allows only "${escapeBytes(want)}"`);
    }
  }
  return { name, size };
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Untrusted header bytes as printable text: printable ASCII kept, everything else (and `"`, `\\`) as `\xNN`. */
function escapeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  // Long runs of the same escape (a zero-filled field) are shortened so a message stays one readable line.
  return s.replace(/((?:\\x00){4})(?:\\x00)+/g, '$1…');
}

/**
 * Splits an archive written by {@link writeTar} into its entries (views into `bytes`), checking headers, zero
 * padding, the end marker and that nothing follows it.
 * @throws BundleError `bundle-malformed`, `bundle-truncated`, `bundle-oversize` (bytes after the end).
 */
export function readTarEntries(bytes: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  const need = (n: number, what: string): void => {
    if (off + n > bytes.byteLength) throw new BundleError('bundle-truncated', `tar: data ends inside ${what}`);
  };
  for (;;) {
    need(TAR_BLOCK, 'a header');
    const h = parseTarHeader(bytes.subarray(off, off + TAR_BLOCK));
    off += TAR_BLOCK;
    if (h === null) break;
    need(paddedSize(h.size), `'${h.name}'`);
    entries.push({ name: h.name, bytes: bytes.subarray(off, off + h.size) });
    if (bytes.subarray(off + h.size, off + paddedSize(h.size)).some((b) => b !== 0)) throw new BundleError('bundle-malformed', `tar: '${h.name}': non-zero padding`);
    off += paddedSize(h.size);
  }
  need(TAR_BLOCK, 'the end marker');
  if (bytes.subarray(off, off + TAR_BLOCK).some((b) => b !== 0)) throw new BundleError('bundle-malformed', 'tar: incomplete end marker');
  off += TAR_BLOCK;
  if (off !== bytes.byteLength) throw new BundleError('bundle-oversize', `tar: ${bytes.byteLength - off} bytes after the end`);
  return entries;
}
