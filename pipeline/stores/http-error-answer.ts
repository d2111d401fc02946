/**
 * How `palisade serve` answers a failed store operation: an HTTP status per StoreError code and a body
 * `{error: <code>, message}` whose message is the error's location-free `detail` or a fixed text for the code,
 * never the error's own message (which names the store's directory on the server).
 */
import type { StoreError, StoreErrorCode } from './errors.js';

/** Status and public text per code. */
const ANSWER: Record<StoreErrorCode, { readonly status: number; readonly text: string }> = {
  'store-conflict': { status: 409, text: 'publish refused: the serial does not follow the latest one' },
  'store-not-found': { status: 404, text: 'no such bundle' },
  'store-too-large': { status: 413, text: 'the bundle is larger than this store accepts' },
  'store-truncated': { status: 500, text: 'a stored bundle is shorter than its record says' },
  'store-digest-mismatch': { status: 500, text: 'a stored bundle does not match its digest' },
  'store-corrupt': { status: 500, text: "the store's records cannot be read; see the server log" },
  'store-unauthorized': { status: 403, text: 'the store behind this server refused the operation' },
  'store-protocol': { status: 502, text: 'the store behind this server answered something unexpected' },
  'store-unreachable': { status: 502, text: 'the store behind this server is unreachable' },
  'store-timeout': { status: 504, text: 'the store behind this server did not answer in time' },
  'store-no-space': { status: 507, text: "the store's filesystem is full; nothing was published" },
  'store-read-only': { status: 503, text: "the store's filesystem is read-only" },
  'store-io': { status: 500, text: "the store's filesystem failed; see the server log" },
  'store-bad-url': { status: 500, text: 'the server is configured with a store it cannot open' },
  'store-bad-input': { status: 400, text: 'the store refused the input' },
};

/**
 * The answer for a StoreError: status, and a body without server paths (`current` rides along on a conflict).
 * @returns `{status, body}`; never throws.
 */
export function storeErrorAnswer(err: StoreError): { status: number; body: { error: StoreErrorCode; message: string; current?: unknown } } {
  const answer = ANSWER[err.code];
  const body = { error: err.code, message: err.detail ?? answer.text };
  return { status: answer.status, body: err.current ? { ...body, current: err.current } : body };
}
