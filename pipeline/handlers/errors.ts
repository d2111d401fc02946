/**
 * Errors of the stage handlers (`onPullRequest`, `onPush`, the publish stage). Callers branch on `code`.
 */
import { InputError, PalisadeError } from '../core/errors.js';
import { formatDiagnostic, type Diagnostic } from '../core/validate/diagnostic.js';

/** Stable codes of {@link GateConfigError} and {@link HandlerError}. */
export type HandlerErrorCode =
  /** palisade.yaml is not valid: `diagnostics` says where (exit 1, like a policy error). */
  | 'gate-config-invalid'
  /** The serial was taken by other publishers on every attempt (exit 3). */
  | 'publish-conflict';

/** palisade.yaml has errors; every one is in `diagnostics`, positioned. */
export class GateConfigError extends InputError {
  declare readonly code: 'gate-config-invalid';
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    super('gate-config-invalid', `the gate configuration has ${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}${first ? ` (first: ${formatDiagnostic(first)})` : ''}`, first?.pos);
    this.diagnostics = diagnostics;
  }
}

/** A handler could not run to its end. */
export class HandlerError extends PalisadeError {
  declare readonly code: Exclude<HandlerErrorCode, 'gate-config-invalid'>;
  constructor(code: Exclude<HandlerErrorCode, 'gate-config-invalid'>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
