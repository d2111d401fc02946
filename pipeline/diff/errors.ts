/**
 * Errors of the impact diff. Both mean a verdict engine broke its contract (one verdict per flow, in order), which is
 * a bug in an engine rather than bad input, so they are plain PalisadeErrors (exit 1).
 */
import { PalisadeError } from '../core/errors.js';

export type DiffErrorCode = 'diff-engine-mismatch' | 'diff-engine-lookahead';

/** The two simulations could not be lined up flow by flow. */
export class DiffError extends PalisadeError {
  declare readonly code: DiffErrorCode;
  constructor(code: DiffErrorCode, message: string) {
    super(code, message);
  }
}
