/**
 * Errors of the flow and inventory readers. Every rejection has a stable `code`; the CLI exits 2 for `io-*` codes
 * (the input could not be read at all) and 1 for the others (it was read and refused).
 */
import { InputError, type SourcePos } from '../core/errors.js';

/** Stable codes of {@link FlowInputError}. */
export type FlowInputErrorCode =
  | 'flows-invalid-json' // a line is not JSON
  | 'flows-not-an-object' // a line is JSON but not an object
  | 'flows-line-too-long' // a line is longer than the line bound
  | 'flows-invalid-flow' // a flow with impossible fields (port out of range, labels not strings...)
  | 'flows-corrupt-gzip' // gzip data that cannot be decompressed
  | 'flows-decompressed-too-large'; // a gzip input inflates past the decompressed-size bound (gzip bomb)

/** A recorded-flow input that cannot be used: a bad line, corrupt gzip, or more decompressed data than allowed. */
export class FlowInputError extends InputError {
  declare readonly code: FlowInputErrorCode;
  declare readonly pos: SourcePos;
  constructor(code: FlowInputErrorCode, message: string, pos: SourcePos) {
    super(code, message, pos);
  }
}

/** Stable codes of {@link InventoryError}. */
export type InventoryErrorCode =
  | 'inventory-parse' // not JSON or YAML
  | 'inventory-too-large'; // a file larger than the inventory bound

/** An inventory file that cannot be used. */
export class InventoryError extends InputError {
  declare readonly code: InventoryErrorCode;
  constructor(code: InventoryErrorCode, message: string, pos?: SourcePos, options?: { cause?: unknown }) {
    super(code, message, pos, options);
  }
}

/** A flow or inventory file that cannot be opened or read (code `io-unreadable`). */
export class FlowIoError extends InputError {
  declare readonly code: 'io-unreadable';
  constructor(file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super('io-unreadable', `cannot read ${file}: ${reason}`, { file, line: 0, col: 0 }, { cause });
  }
}
