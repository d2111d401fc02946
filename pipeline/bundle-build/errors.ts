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

/** Stable codes of {@link BundleExpiryError}. */
export type BundleExpiryCode =
  | 'bundle-build-expired' // the bundle's expiresAt is not after the time it would be published
  | 'bundle-build-expires-soon'; // it would expire within the required margin (`palisade publish --min-validity`)

/**
 * A bundle that agents would refuse as expired, or would refuse within `minValidityMs`, at the time `now` it is
 * built for publishing. `palisade publish` exits 4 with it; `palisade compile` prints it as a warning.
 */
export class BundleExpiryError extends InputError {
  declare readonly code: BundleExpiryCode;
  readonly expiresAt: Date;
  readonly now: Date;
  /** The validity the bundle must still have at `now`, in milliseconds. */
  readonly minValidityMs: number;
  constructor(code: BundleExpiryCode, message: string, data: { expiresAt: Date; now: Date; minValidityMs: number }) {
    super(code, message);
    this.expiresAt = data.expiresAt;
    this.now = data.now;
    this.minValidityMs = data.minValidityMs;
  }
}
