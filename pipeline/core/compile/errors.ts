/**
 * Errors of the table compiler. Callers branch on `code`.
 */
import { PalisadeError } from '../errors.js';

/**
 * A per-endpoint policy map would hold more entries than the datapath allows. Raised by `compileTables` before any
 * table leaves the compiler, so nothing is loaded.
 */
export class MapPressureError extends PalisadeError {
  /** The endpoint, as `namespace/pod (ip)`. */
  readonly endpoint: string;
  readonly entries: number;
  readonly max: number;
  constructor(endpoint: string, entries: number, max: number) {
    super(
      'policy-map-overflow',
      `policy map of endpoint ${endpoint} would hold ${entries} entries, more than the maximum of ${max}: ` +
        `narrow the policies that select it or raise the map size`,
    );
    this.endpoint = endpoint;
    this.entries = entries;
    this.max = max;
  }
}

/** The inventory or the options cannot be compiled (too many endpoints or addresses, a bad address, a bad limit). */
export class CompileError extends PalisadeError {
  constructor(code: 'too-many-endpoints' | 'ipcache-overflow' | 'bad-address' | 'bad-option', message: string) {
    super(code, message);
  }
}
