/**
 * The one error hierarchy of Palisade. Callers branch on `code`, never on message text.
 * Messages are written for a person; they never contain secrets or tokens.
 */
import { escapeUntrusted } from './text/escape-untrusted.js';

/** A source position, 1-based line and column. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * What kind of failure an error is. Commands map kinds to exit codes (usage and I/O exit 2, bad input and other
 * failures 1); nothing branches on a code's spelling or on message text.
 * - `usage`: the command line is wrong.
 * - `io`: a file or directory named on the command line cannot be read or written.
 * - `input`: what was read is not acceptable (a policy, a flow line, a bundle, a configuration).
 * - `failure`: anything else that went wrong on purpose (a store or API refused, a feature is missing).
 */
export type ErrorKind = 'usage' | 'io' | 'input' | 'failure';

/**
 * Stable error codes are lowercase words joined by dashes, the first word naming the area (`bundle-expired`,
 * `store-conflict`, `flows-invalid-json`): one separator everywhere. Each area's errors.ts narrows `code` to its
 * own union.
 */
export type ErrorCode = `${Lowercase<string>}-${Lowercase<string>}` | 'usage';

/**
 * Base of every error Palisade raises on purpose. `code` is stable API; `kind` is what the CLI branches on. The
 * message is one line: whatever it quotes (file and field names, a remote server's reason) has its control,
 * separator and bidi characters escaped here, once for every subclass, so no error can carry a terminal escape or a
 * forged log line to any sink.
 */
export class PalisadeError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; kind?: ErrorKind }) {
    super(escapeUntrusted(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = options?.kind ?? 'failure';
    this.name = new.target.name;
  }
}

/** Codes of a local file or directory that cannot be read or written (kind `io`). */
export const IO_ERROR_CODES = ['io-read', 'io-unreadable', 'io-write', 'io-exists', 'io-not-regular-file'] as const;
/** One of {@link IO_ERROR_CODES}. */
export type IoErrorCode = (typeof IO_ERROR_CODES)[number];

/**
 * Input that cannot be used as given (a file, a flag, a document). `pos` points at it when known. Its kind is `io`
 * for the {@link IO_ERROR_CODES} and `input` for every other code.
 */
export class InputError extends PalisadeError {
  readonly pos: SourcePos | undefined;
  constructor(code: ErrorCode, message: string, pos?: SourcePos, options?: { cause?: unknown }) {
    super(code, message, { ...options, kind: (IO_ERROR_CODES as readonly string[]).includes(code) ? 'io' : 'input' });
    this.pos = pos;
  }
}

/**
 * Wrong command-line usage: exit code 2. `usage` is the command's own (trusted, multi-line) usage text, printed
 * as it is after the one-line message.
 */
export class UsageError extends PalisadeError {
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super('usage', message, { kind: 'usage' });
    this.usage = usage;
  }
}

/** A feature this machine lacks (root, BPF, bpffs...). */
export class NotSupportedError extends PalisadeError {
  readonly feature: string;
  constructor(feature: string, message: string, options?: { cause?: unknown }) {
    super('not-supported', message, options);
    this.feature = feature;
  }
}

/** `file:line:col` for messages; just `file` when the position is unknown. */
export function formatPos(pos: SourcePos | undefined): string {
  if (!pos) return '';
  return pos.line > 0 ? `${pos.file}:${pos.line}:${pos.col}` : pos.file;
}
