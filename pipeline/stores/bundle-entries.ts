/**
 * A bundle file as its tar entries (manifest, signatures, components) and back. The bundle format's tar writer is
 * deterministic, so joining the entries of a canonical bundle file gives the same bytes again.
 */
import { TAR_BLOCK, paddedSize, parseTarHeader, writeTar } from '../core/bundle/tar.js';
import type { TarEntry } from '../core/bundle/tar.js';
import { BundleError } from '../core/bundle/errors.js';
import { StoreError } from './errors.js';

/**
 * Splits a bundle file into its tar entries, in file order.
 * @throws StoreError `store-bad-input` when the bytes are not a bundle tar as the bundle format writes it.
 */
export function splitBundle(bytes: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  try {
    for (;;) {
      if (off + TAR_BLOCK > bytes.byteLength) throw new BundleError('bundle-truncated', 'tar: no end marker');
      const header = parseTarHeader(bytes.subarray(off, off + TAR_BLOCK));
      if (header === null) break;
      off += TAR_BLOCK;
      if (off + header.size > bytes.byteLength) throw new BundleError('bundle-truncated', `tar: '${header.name}' runs past the end`);
      entries.push({ name: header.name, bytes: bytes.subarray(off, off + header.size) });
      off += paddedSize(header.size);
    }
  } catch (err) {
    if (err instanceof BundleError) throw new StoreError('store-bad-input', `not a bundle file: ${err.message}`, { cause: err });
    throw err;
  }
  if (entries.length === 0) throw new StoreError('store-bad-input', 'not a bundle file: no entries');
  return entries;
}

/** Writes entries back into the bundle file they came from (the bundle format's tar is deterministic). */
export function joinBundle(entries: readonly TarEntry[]): Uint8Array {
  return writeTar(entries);
}
