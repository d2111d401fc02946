/**
 * Errors of `palisade watch`. Callers branch on `code`.
 */
import { InputError } from '../core/errors.js';

/** Stable codes of {@link WatchError}. */
export type WatchErrorCode =
  /** The repository cannot be cloned or fetched (exit 2). */
  | 'io-watch-source'
  /** The branch name is not a valid branch (exit 2). */
  | 'io-watch-bad-branch';

/** The watched source cannot be used. */
export class WatchError extends InputError {
  declare readonly code: WatchErrorCode;
  constructor(code: WatchErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
  }
}
