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
 * Parses one 512-byte header block exactly as {@link writeTar} writes it.
 * @returns the header, or null for an all-zero block (end of archive).
 * @throws BundleError `bundle-malformed` for anything else.
 */
export function parseTarHeader(block: Uint8Array): TarHeader | null {
  if (block.byteLength !== TAR_BLOCK) throw new BundleError('bundle-malformed', 'tar: short header block');
  if (block.every((b) => b === 0)) return null;
  const text = (offset: number, len: number): string => String.fromCharCode(...block.subarray(offset, offset + len));
  const bad = (what: string): never => {
    throw new BundleError('bundle-malformed', `tar: ${what}`);
  };
  if (text(257, 6) !== 'ustar\0' || text(263, 2) !== '00') bad('not a ustar header');
  const stored = text(148, 8);
  if (!/^[0-7]{6}\0 $/.test(stored) || parseInt(stored.slice(0, 6), 8) !== checksum(block)) bad('header checksum mismatch');
  if (text(156, 1) !== '0') bad('only regular files are allowed');
  const rawName = text(0, 100);
  const nul = rawName.indexOf('\0');
  const name = nul < 0 ? rawName : rawName.slice(0, nul);
  if (!NAME_RE.test(name) || (nul >= 0 && /[^\0]/.test(rawName.slice(nul)))) bad('bad entry name');
  if (block.subarray(345, 500).some((b) => b !== 0)) bad(`'${name}': prefix field not allowed`);
  const sizeText = text(124, 12);
  if (!/^[0-7]{11}\0$/.test(sizeText)) bad(`'${name}': bad size field`);
  return { name, size: parseInt(sizeText.slice(0, 11), 8) };
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
