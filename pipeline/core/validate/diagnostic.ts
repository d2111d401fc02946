/**
 * Diagnostics: what validation reports about a policy tree. One diagnostic is one problem at one source position,
 * with a stable `code` that tools and tests branch on (the message is for people and may change).
 */
import { formatPos, type SourcePos } from '../errors.js';
import { escapeUntrusted } from '../text/escape-untrusted.js';

export type Severity = 'error' | 'warning';

/** One problem found in the input. `pos.line` is 0 when the problem concerns a whole file (I/O, size). */
export interface Diagnostic {
  readonly severity: Severity;
  /** Stable identifier, e.g. `yaml-syntax`, `cidr-except-outside`; listed in ./codes.ts. */
  readonly code: string;
  readonly message: string;
  readonly pos: SourcePos;
}

/** An error diagnostic. */
export function errorAt(code: string, message: string, pos: SourcePos): Diagnostic {
  return { severity: 'error', code, message, pos };
}

/** A warning diagnostic: legal but suspicious input. */
export function warningAt(code: string, message: string, pos: SourcePos): Diagnostic {
  return { severity: 'warning', code, message, pos };
}

/** A position that names a whole file (no line). */
export function filePos(file: string): SourcePos {
  return { file, line: 0, col: 0 };
}

/** Orders diagnostics by file, line, column, then code, so output never depends on evaluation order. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.pos.file !== b.pos.file) return a.pos.file < b.pos.file ? -1 : 1;
  return a.pos.line - b.pos.line || a.pos.col - b.pos.col || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Sorts and removes exact duplicates (same code, position and message). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...list].sort(compareDiagnostics);
  return sorted.filter((d, i) => {
    const prev = sorted[i - 1];
    return !prev || compareDiagnostics(prev, d) !== 0 || prev.severity !== d.severity;
  });
}

/** Counts errors and warnings. */
export function countDiagnostics(list: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const d of list) if (d.severity === 'error') errors++;
  return { errors, warnings: list.length - errors };
}

/**
 * One diagnostic as every command prints it: `path:line:col: error|warning: message [code]`, always one line: the
 * path and the message quote input (file names, field names, values), so their control, separator and bidi
 * characters are escaped.
 */
export function formatDiagnostic(d: Diagnostic): string {
  return escapeUntrusted(`${formatPos(d.pos)}: ${d.severity}: ${d.message} [${d.code}]`);
}
