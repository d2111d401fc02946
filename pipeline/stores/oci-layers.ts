/**
 * A bundle file as OCI layers: one layer per entry of the bundle's tar (the manifest, each component, each
 * signature), so registries deduplicate unchanged components between bundles and OCI tools can pull one component.
 * Pulling writes the entries back with the bundle format's deterministic tar writer and checks the result against
 * the bundle digest, so a pulled bundle is byte-identical to the published one or an error.
 */
import { TAR_BLOCK, paddedSize, parseTarHeader, writeTar } from '../core/bundle/tar.js';
import type { TarEntry } from '../core/bundle/tar.js';
import { COMPONENT } from '../core/bundle/components.js';
import { BundleError } from '../core/bundle/errors.js';
import { StoreError } from './errors.js';

/** Media type of a layer whose entry is not one of the known components. */
export const ENTRY_MEDIA_TYPE = 'application/vnd.palisade.bundle.entry.v1';

const KNOWN_MEDIA_TYPES = new Map<string, string>(Object.values(COMPONENT).map((c) => [c.name, c.mediaType]));

/** The media type a layer for this tar entry gets: the component's own, or {@link ENTRY_MEDIA_TYPE}. */
export function entryMediaType(name: string): string {
  return KNOWN_MEDIA_TYPES.get(name.slice(name.lastIndexOf('/') + 1)) ?? ENTRY_MEDIA_TYPE;
}

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
