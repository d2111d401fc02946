/**
 * A bundle file as its tar entries (manifest, signatures, components) and back. Both directions are the bundle
 * format's own (core/bundle/tar.ts): one strict reader, one deterministic writer, so joining the entries of a
 * canonical bundle file gives the same bytes again.
 */
import { readTarEntries, writeTar } from '../core/bundle/tar.js';
import type { TarEntry } from '../core/bundle/tar.js';
import { BundleError } from '../core/bundle/errors.js';
import { StoreError } from './errors.js';

/**
 * Splits a bundle file into its tar entries, in file order, with the bundle format's strict tar reader (every header
 * byte as the writer writes it, zero padding, the end marker, nothing after it).
 * @throws StoreError `store-bad-input` when the bytes are not a bundle tar as the bundle format writes it; its
 *   `cause` is the reader's BundleError (`bundle-malformed`, `bundle-truncated`, `bundle-oversize`).
 */
export function splitBundle(bytes: Uint8Array): TarEntry[] {
  let entries: TarEntry[];
  try {
    entries = readTarEntries(bytes);
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
