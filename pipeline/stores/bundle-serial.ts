/**
 * Reading the serial out of a bundle file without verifying it: what the HTTP server needs to place an upload.
 * The server is not a trust gate (agents verify signatures); it only refuses what is not a bundle at all.
 */
import { MANIFEST_ENTRY } from '../core/bundle/layout.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../core/bundle/manifest.js';
import { BundleError } from '../core/bundle/errors.js';
import { StoreError } from './errors.js';
import { splitBundle } from './bundle-entries.js';

/**
 * The manifest serial of a bundle file.
 * @throws StoreError `store-bad-input` when the bytes are not a bundle file with a well-formed manifest first.
 */
export function readBundleSerial(bytes: Uint8Array): number {
  const first = splitBundle(bytes)[0]!;
  if (first.name !== MANIFEST_ENTRY || first.bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new StoreError('store-bad-input', `not a bundle file: the first entry must be ${MANIFEST_ENTRY}`);
  }
  try {
    return parseManifest(JSON.parse(new TextDecoder().decode(first.bytes))).serial;
  } catch (err) {
    throw new StoreError('store-bad-input', `not a bundle file: ${(err as Error).message}`, { cause: err });
  }
}
