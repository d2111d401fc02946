/**
 * Digest and descriptor checks for the stores. Digests are `sha256:<64 lowercase hex>` (the bundle format's own
 * digest helpers, which use the OCI spelling).
 */
import { sha256Digest, isSha256Digest as isDigest } from '../core/bundle/digest.js';
import { StoreError } from './errors.js';
import type { BundleDescriptor } from './types.js';

export { sha256Digest, isDigest };

/**
 * The hex part of a digest, for file names and URLs.
 * @throws StoreError `store-bad-input` for anything but `sha256:<64 hex>` (so it can never escape a directory).
 */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new StoreError('store-bad-input', `not a sha256 digest: ${JSON.stringify(digest).slice(0, 80)}`);
  return digest.slice('sha256:'.length);
}

/**
 * Checks bytes against the digest (and size when given) they were fetched by.
 * @throws StoreError `store-digest-mismatch`, `store-truncated`, `store-too-large`.
 */
export function checkFetched(location: string, digest: string, bytes: Uint8Array, expectedSize?: number): void {
  if (expectedSize !== undefined && bytes.byteLength !== expectedSize) {
    const code = bytes.byteLength < expectedSize ? 'store-truncated' : 'store-too-large';
    throw new StoreError(code, `${location}: ${digest} has ${bytes.byteLength} bytes, the descriptor says ${expectedSize}`);
  }
  const got = sha256Digest(bytes);
  if (got !== digest) throw new StoreError('store-digest-mismatch', `${location}: asked for ${digest}, got bytes hashing to ${got}`);
}

/** True for a serial a bundle may carry: a positive safe integer. */
export function isSerial(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

/**
 * Parses a descriptor from untrusted JSON text (a pointer file, an HTTP answer).
 * @throws StoreError `store-corrupt` (or `code` when given) naming `where`.
 */
export function parseDescriptor(text: string, where: string, code: 'store-corrupt' | 'store-protocol' = 'store-corrupt'): BundleDescriptor {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new StoreError(code, `${where}: not JSON: ${(err as Error).message}`);
  }
  return toDescriptor(v, where, code);
}

/** Validates an already parsed value as a descriptor; extra fields are dropped. */
export function toDescriptor(v: unknown, where: string, code: 'store-corrupt' | 'store-protocol' = 'store-corrupt'): BundleDescriptor {
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !isSerial(o.serial) || !isDigest(o.digest)
    || typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw new StoreError(code, `${where}: not a bundle descriptor {serial, digest, size}`);
  }
  return { serial: o.serial, digest: o.digest, size: o.size };
}

/** Checks a bundle handed to `publish`. @throws StoreError `store-bad-input`. */
export function checkPublishable(serial: unknown, bytes: Uint8Array, maxBytes: number): void {
  if (!isSerial(serial)) throw new StoreError('store-bad-input', `bundle serial must be a positive integer, got ${String(serial)}`);
  if (bytes.byteLength === 0) throw new StoreError('store-bad-input', 'bundle is empty');
  if (bytes.byteLength > maxBytes) throw new StoreError('store-too-large', `bundle has ${bytes.byteLength} bytes, the limit is ${maxBytes}`);
}
