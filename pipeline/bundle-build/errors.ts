/**
 * Errors of the bundle build stage.
 */
import { InputError } from '../core/errors.js';
import { formatPos } from '../core/errors.js';
import type { Diagnostic } from '../core/validate/diagnostic.js';

/** The policy tree has errors: no bundle is built. Carries every error diagnostic so the CLI can print them all. */
export class PolicyErrorsError extends InputError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    super(
      'bundle-build-policy-errors',
      `the policies have ${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}; no bundle was built${first ? ` (first: ${formatPos(first.pos)}: ${first.message})` : ''}`,
      first?.pos,
    );
    this.diagnostics = diagnostics;
  }
}
