/**
 * Errors of the command line itself (not of the stages it runs). Callers branch on `code`.
 */
import { PalisadeError } from '../core/errors.js';

/** Stable codes of {@link OutputError}. */
export type CliErrorCode = 'output-failed'; // standard output could not be written (closed pipe, full disk, I/O error)

/**
 * The exit code of a command whose standard output could not be written: 74, EX_IOERR of sysexits.h, apart from
 * usage/I/O (2) and from `verify`'s rejection codes (10 and up).
 */
export const EXIT_OUTPUT_FAILED = 74;

/** A write to standard output failed. `errno` is the system's code (`EPIPE`, `ENOSPC`, …) when there is one. */
export class OutputError extends PalisadeError {
  declare readonly code: CliErrorCode;
  readonly errno: string | undefined;
  constructor(cause: NodeJS.ErrnoException) {
    super('output-failed', `cannot write to standard output: ${cause.message}`, { cause });
    this.errno = typeof cause.code === 'string' ? cause.code : undefined;
  }
}
