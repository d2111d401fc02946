/**
 * Errors of endpoint discovery. Callers branch on `code`.
 */
import { InputError, type SourcePos } from '../../pipeline/core/errors.js';

/** Stable codes of {@link DiscoveryError}. */
export type DiscoveryErrorCode =
  | 'endpoints-unreadable' // the file is missing, not a file, or too large
  | 'endpoints-syntax' // not YAML/JSON
  | 'endpoints-invalid' // parses, but is not an endpoint list
  | 'endpoints-api-unavailable'; // the Kubernetes API server cannot be listed or watched

/** The endpoints source cannot be used; `pos` points into the file where known. */
export class DiscoveryError extends InputError {
  declare readonly code: DiscoveryErrorCode;
  constructor(code: DiscoveryErrorCode, message: string, pos?: SourcePos, options?: { cause?: unknown }) {
    super(code, message, pos, options);
  }
}
