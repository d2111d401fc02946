/**
 * Errors of the table compiler. Callers branch on `code`.
 */
import { PalisadeError } from '../errors.js';

/**
 * A per-endpoint policy map would hold more entries than the datapath allows. Raised by `compileTables` before any
 * table leaves the compiler, so nothing is loaded.
 */
export class MapPressureError extends PalisadeError {
  declare readonly code: 'policy-map-overflow';
  /** The endpoint, as `namespace/pod (ip)`; for a whole generation, the most loaded endpoint. */
  readonly endpoint: string;
  readonly entries: number;
  readonly max: number;
  /** `endpoint`: one endpoint's entries; `generation`: every endpoint's entries in the shared map. */
  readonly scope: 'endpoint' | 'generation';
  constructor(endpoint: string, entries: number, max: number, scope: 'endpoint' | 'generation' = 'endpoint') {
    super(
      'policy-map-overflow',
      scope === 'endpoint'
        ? `policy map of endpoint ${endpoint} would hold ${entries} entries, more than the maximum of ${max}: ` +
            `narrow the policies that select it or raise the map size`
        : `policy maps of all endpoints together would hold ${entries} entries, more than the ${max} one generation ` +
            `can hold (most loaded: ${endpoint}): narrow the policies or raise the map size`,
    );
    this.endpoint = endpoint;
    this.entries = entries;
    this.max = max;
    this.scope = scope;
  }
}

/**
 * The inventory or the options cannot be compiled (too many endpoints or addresses, a bad address, a bad limit), or a
 * replayed packet left a pod from an address that is not the pod's (`spoofed-source`: a replay bug, never a verdict).
 */
/** Stable codes of {@link CompileError}. */
export type CompileErrorCode = 'too-many-endpoints' | 'ipcache-overflow' | 'bad-address' | 'bad-option' | 'spoofed-source';

export class CompileError extends PalisadeError {
  declare readonly code: CompileErrorCode;
  constructor(code: CompileErrorCode, message: string) {
    super(code, message);
  }
}
