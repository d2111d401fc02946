/**
 * Errors of `palisade demo`. Callers branch on `code`.
 */
import { PalisadeError } from '../core/errors.js';

/** Stable codes of {@link DemoError}. */
export type DemoErrorCode =
  /** The template's policies (or a demo change to them) have errors. */
  | 'demo-policy-errors'
  /** A step's condition was not reached in time: the message says what was awaited. */
  | 'demo-timeout'
  /** A process the demo started (store, controller, agent, pod) exited or could not start. */
  | 'demo-process-failed'
  /** The machine lacks what the demo needs (a command, a free name), or setting up the lab failed. */
  | 'demo-lab-failed'
  /** The demo was interrupted (SIGINT, SIGTERM). */
  | 'demo-interrupted';

/** The demo could not go on; everything it created is removed before this reaches the user. */
export class DemoError extends PalisadeError {
  declare readonly code: DemoErrorCode;
  constructor(code: DemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
