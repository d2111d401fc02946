/**
 * Errors of the flow and inventory readers. Codes are stable: `flows.*` for recorded flows, `inventory.*` for
 * inventory files, `io.*` for files that cannot be read at all (the CLI exits 2 for those).
 */
import { InputError, type SourcePos } from '../core/errors.js';

/** A recorded-flow line that cannot be used: not JSON, not an object, too long, or a flow with bad fields. */
export class FlowInputError extends InputError {
  constructor(code: 'flows.invalid-json' | 'flows.not-an-object' | 'flows.line-too-long' | 'flows.invalid-flow' | 'flows.corrupt-gzip', message: string, pos: SourcePos) {
    super(code, message, pos);
  }
}

/** An inventory file that cannot be used. */
export class InventoryError extends InputError {
  constructor(code: 'inventory.parse' | 'inventory.too-large' | 'inventory.invalid', message: string, pos?: SourcePos, options?: { cause?: unknown }) {
    super(code, message, pos, options);
  }
}

/** A flow or inventory file that cannot be opened or read. */
export class FlowIoError extends InputError {
  constructor(file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super('io.unreadable', `cannot read ${file}: ${reason}`, { file, line: 0, col: 0 }, { cause });
  }
}
