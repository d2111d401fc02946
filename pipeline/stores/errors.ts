/**
 * Errors of the bundle stores. Callers branch on `code`; messages never carry tokens or credentials. `detail` is
 * the part of a message that is safe to show a remote client: it never names a server path, URL or host.
 */
import { PalisadeError } from '../core/errors.js';
import type { BundleDescriptor } from './types.js';

/** Stable codes of {@link StoreError}. */
export type StoreErrorCode =
  | 'store-conflict' // compare-and-swap on the serial failed
  | 'store-not-found' // no bundle with that digest
  | 'store-too-large' // more bytes than the bound or the descriptor allow
  | 'store-truncated' // fewer bytes than the descriptor said
  | 'store-digest-mismatch' // bytes do not hash to the digest asked for
  | 'store-corrupt' // a pointer or record in the store cannot be read
  | 'store-unauthorized' // upload without a valid token
  | 'store-protocol' // a server answered something this client does not understand (or too much of it)
  | 'store-unreachable' // network error: refused, reset, name not found
  | 'store-timeout' // a request (headers or body) did not complete before its deadline
  | 'store-no-space' // the store's filesystem is full (ENOSPC, EDQUOT); nothing was published
  | 'store-read-only' // the store's filesystem is mounted read-only (EROFS)
  | 'store-io' // another filesystem error of the store directory (EACCES, EIO…), errno named in the message
  | 'store-bad-url' // a store URL this build cannot open
  | 'store-bad-input'; // a malformed bundle, digest or serial handed to the store

/** A store operation failed. `current` is the latest descriptor when the code is `store-conflict`. */
export class StoreError extends PalisadeError {
  declare readonly code: StoreErrorCode;
  readonly current: BundleDescriptor | undefined;
  /** The reason without any location (path, URL, host), for answers to remote clients; absent when unknown. */
  readonly detail: string | undefined;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; current?: BundleDescriptor; detail?: string }) {
    super(code, message, options);
    this.current = options?.current;
    this.detail = options?.detail;
  }
}

/** The conflict error every store raises when the serial CAS fails. */
export function serialConflict(location: string, wanted: number, current: BundleDescriptor | undefined,
  expected?: number): StoreError {
  const have = current?.serial ?? 0;
  const why = expected !== undefined && expected !== have
    ? `expected latest serial ${expected} but it is ${have}`
    : `serial ${wanted} is not above the latest serial ${have}`;
  const detail = `publish refused: ${why}`;
  return new StoreError('store-conflict', `${location}: ${detail}`, { detail, ...(current ? { current } : {}) });
}
