/**
 * Errors of the simulation stage.
 */
import { PalisadeError } from '../core/errors.js';

/** Stable codes of {@link SimulateError}. */
export type SimulateErrorCode =
  /** An engine module cannot be loaded or refuses to start (e.g. no BPF for the kernel engine). */
  | 'simulate-engine-unavailable'
  /** An engine broke the one-verdict-per-flow contract. */
  | 'simulate-engine-mismatch';

/** The simulation could not run an engine as promised. */
export class SimulateError extends PalisadeError {
  declare readonly code: SimulateErrorCode;
  constructor(code: SimulateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
