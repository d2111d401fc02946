/**
 * Content digests in the OCI spelling `sha256:<64 lowercase hex>`.
 */
import { createHash } from 'node:crypto';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** Lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True for a well-formed `sha256:<64 hex>` digest. */
export function isSha256Digest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s);
}
