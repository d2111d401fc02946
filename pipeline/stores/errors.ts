/**
 * Errors of the bundle stores. Callers branch on `code`; messages never carry tokens or credentials.
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
  | 'store-protocol' // a server answered something this client does not understand
  | 'store-unreachable' // network error or timeout
  | 'store-bad-url' // a store URL this build cannot open
  | 'store-bad-input'; // a malformed bundle, digest or serial handed to the store

/** A store operation failed. `current` is the latest descriptor when the code is `store-conflict`. */
export class StoreError extends PalisadeError {
  declare readonly code: StoreErrorCode;
  readonly current: BundleDescriptor | undefined;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; current?: BundleDescriptor }) {
    super(code, message, options);
    this.current = options?.current;
  }
}

/** The conflict error every store raises when the serial CAS fails. */
export function serialConflict(location: string, wanted: number, current: BundleDescriptor | undefined,
  expected?: number): StoreError {
  const have = current?.serial ?? 0;
  const why = expected !== undefined && expected !== have
    ? `expected latest serial ${expected} but it is ${have}`
    : `serial ${wanted} is not above the latest serial ${have}`;
  return new StoreError('store-conflict', `${location}: publish refused: ${why}`, current ? { current } : {});
}
