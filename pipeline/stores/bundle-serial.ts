/**
 * Peeking into a bundle file without verifying it: its serial (what the HTTP server needs to place an upload) and
 * its manifest digest (what the next bundle names as its parent). The server is not a trust gate (agents verify
 * signatures); it only refuses what is not a bundle at all.
 */
import { MANIFEST_ENTRY } from '../core/bundle/layout.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../core/bundle/manifest.js';
import { StoreError } from './errors.js';
import { sha256Digest } from './digest.js';
import { splitBundle } from './bundle-entries.js';

/** What {@link peekBundle} finds. */
export interface BundlePeek {
  /** The manifest's serial. */
  readonly serial: number;
  /** `sha256:<hex>` of the manifest entry: the bundle's identity, and the next bundle's `parentDigest`. */
  readonly manifestDigest: string;
  /** The manifest's `expiresAt` (RFC 3339 UTC): agents refuse the bundle after it. */
  readonly expiresAt: string;
  /** The manifest's source: the repository and the commit the bundle was built from. */
  readonly source: { readonly repository: string; readonly commit: string };
}

/**
 * The serial, manifest digest, expiry and source of a bundle file, unverified.
 * @throws StoreError `store-bad-input` when the bytes are not a bundle file with a well-formed manifest first.
 */
export function peekBundle(bytes: Uint8Array): BundlePeek {
  const first = splitBundle(bytes)[0]!;
  if (first.name !== MANIFEST_ENTRY || first.bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new StoreError('store-bad-input', `not a bundle file: the first entry must be ${MANIFEST_ENTRY}`);
  }
  try {
    const manifest = parseManifest(JSON.parse(new TextDecoder().decode(first.bytes)));
    return { serial: manifest.serial, manifestDigest: sha256Digest(first.bytes), expiresAt: manifest.expiresAt, source: manifest.source };
  } catch (err) {
    throw new StoreError('store-bad-input', `not a bundle file: ${(err as Error).message}`, { cause: err });
  }
}

/** The manifest serial of a bundle file (see {@link peekBundle}). */
export function readBundleSerial(bytes: Uint8Array): number {
  return peekBundle(bytes).serial;
}
