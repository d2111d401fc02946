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
 * Base of every error Palisade raises on purpose. `code` is stable API. The message is one line: whatever it
 * quotes (file and field names, a remote server's reason) has its control, separator and bidi characters escaped
 * here, once for every subclass, so no error can carry a terminal escape or a forged log line to any sink.
 */
export class PalisadeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(escapeUntrusted(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that cannot be used as given (a file, a flag, a document). `pos` points at it when known. */
export class InputError extends PalisadeError {
  readonly pos: SourcePos | undefined;
  constructor(code: string, message: string, pos?: SourcePos, options?: { cause?: unknown }) {
    super(code, message, options);
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
    super('usage', message);
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
