/**
 * The wire contract of the Palisade HTTP store, shared by the server and the client store.
 *
 *   GET  /v1/bundles/latest[?wait=30s]  descriptor JSON; ETag; If-None-Match → 304; with `wait`, a long poll
 *   GET  /v1/bundles/sha256:<hex>       the bundle file; ETag = the digest
 *   GET  /v1/bundles[?limit=N&after=C]  `{bundles}`: one page of the published descriptors, oldest first (limit default
 *                                       100, at most 1000); `Link: <?limit=N&after=C>; rel="next"` (relative to the
 *                                       request URL) names the next page, C being an opaque cursor
 *   GET  /v1/events                     server-sent events: `event: latest` with the descriptor on every change
 *   PUT|POST /v1/bundles                upload (Authorization: Bearer <token>); 201 + descriptor, 409 on a CAS conflict
 *                                       (body carries `current`), 401 bad token, 403 read-only server, 413 too large,
 *                                       400 not a bundle, 422 refused by the server's upload gate (e.g. expired), 503 the
 *                                       gate is unavailable or the store is read-only, 507 the store is full
 *   PUT  /v1/bundles/sha256:<hex>       store a bundle `latest` does not name (a rollback bundle), same checks as an
 *                                       upload plus its digest; 201 + descriptor, 400 digest-mismatch
 *
 * GET routes also answer HEAD. Error bodies are `{error: <stable code>, message}`; messages never name server paths.
 */
import type { BundleDescriptor } from './types.js';

/** Path prefix of every route. */
export const API_PREFIX = '/v1/bundles';
/** Request header: the serial the uploader built on (CAS guard; optional). */
export const EXPECT_LATEST_HEADER = 'palisade-expect-latest-serial';
/** Request header: the serial the uploader claims; the server checks it against the bundle's manifest. */
export const SERIAL_HEADER = 'palisade-serial';
/** Descriptors per page of `GET /v1/bundles` when the client names no `limit`. */
export const DEFAULT_LIST_LIMIT = 100;
/** Most descriptors per page a server hands out. */
export const MAX_LIST_LIMIT = 1000;
/** Longest long poll a server grants, in milliseconds. */
export const MAX_WAIT_MS = 60_000;

/** The ETag of a latest descriptor (or of the empty store). */
export function latestEtag(d: BundleDescriptor | undefined): string {
  return d ? `"${d.serial}-${d.digest.slice(7, 23)}"` : '"empty"';
}

/**
 * Parses a `wait` query value: `30s`, `1500ms` or plain seconds. Returns milliseconds capped at
 * {@link MAX_WAIT_MS}, or `undefined` when malformed.
 */
export function parseWait(value: string): number | undefined {
  const m = /^(\d{1,6})(ms|s)?$/.exec(value);
  if (!m) return undefined;
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  return Math.min(ms, MAX_WAIT_MS);
}
