/**
 * Errors of the simulation stage. Codes: `simulate.engine-unavailable` (an engine module cannot be loaded or
 * refuses to start, e.g. no BPF), `simulate.engine-mismatch` (an engine broke the one-verdict-per-flow contract).
 */
import { PalisadeError } from '../core/errors.js';

export class SimulateError extends PalisadeError {
  constructor(code: 'simulate.engine-unavailable' | 'simulate.engine-mismatch', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
