/**
 * Errors of the bundle format, signing and verification. Every rejection the agent's gate can give has its own
 * stable `code` and its own process exit code, so scripts and agents branch on the reason without reading text.
 */
import { PalisadeError } from '../errors.js';

/** Stable codes of {@link BundleError}, each with the exit code `palisade verify` returns for it. */
export const BUNDLE_ERROR_EXIT = {
  /** The file, an envelope, a statement or the manifest is not in the format this version writes. */
  'bundle-malformed': 10,
  /** A signature from a trusted key does not verify (tampered payload, or signed by another key). */
  'bundle-bad-signature': 11,
  /** Only keys the trust root does not list signed the bundle. */
  'bundle-unknown-key': 12,
  /** Fewer valid signatures from distinct trusted keys than the trust root's threshold (unsigned included). */
  'bundle-threshold': 13,
  /** A component's digest or size differs from the manifest, or components are missing, extra or out of order. */
  'bundle-component-mismatch': 14,
  /** The manifest in the file is not the one the signatures cover. */
  'bundle-manifest-tampered': 15,
  /** The serial is below the minimum (the serial the agent runs) and the bundle is not a signed rollback of it or later. */
  'bundle-rollback': 16,
  /** The bundle's expiry time has passed (freeze attack). */
  'bundle-expired': 17,
  /** More bytes than the hard limit, than the store announced, or after the end of the bundle (endless data). */
  'bundle-oversize': 18,
  /** The data ended before the bundle did. */
  'bundle-truncated': 19,
  /** The bundle targets a datapath ABI version this agent does not speak. */
  'bundle-abi-mismatch': 20,
  /** A trust root file is malformed, or a rotation is not signed by the previous root's threshold. */
  'trust-root-invalid': 21,
  /** The (newest) trust root has expired. */
  'trust-root-expired': 22,
  /** A key file or key text cannot be used (not PEM, not ECDSA P-256, wrong kind). */
  'bundle-key-invalid': 23,
  /** The read was cancelled (its deadline passed) before the bundle was complete: slow or stalled data. */
  'bundle-cancelled': 24,
} as const;

/** One of the stable rejection codes. */
export type BundleErrorCode = keyof typeof BUNDLE_ERROR_EXIT;

/** A bundle, key or trust root was rejected. `exitCode` is what `palisade verify` exits with for this `code`. */
export class BundleError extends PalisadeError {
  declare readonly code: BundleErrorCode;
  readonly exitCode: number;
  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = BUNDLE_ERROR_EXIT[code];
  }
}
