/**
 * Cheap checks on raw text before any YAML parsing: size, binary content, bad encoding. They reject garbage in
 * linear time with a precise position instead of handing it to the parser.
 */
import type { SourcePos } from '../errors.js';
import { errorAt, type Diagnostic } from '../validate/diagnostic.js';

/** 1-based line and column of a UTF-16 offset, by counting newlines (used only on the error path). */
export function offsetToPos(file: string, text: string, offset: number): SourcePos {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { file, line, col: offset - lineStart + 1 };
}

/** UTF-8 size of a string without allocating when the answer is obvious from its length. */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Rejects text that is too large, binary (contains NUL) or was not valid UTF-8 (contains U+FFFD, which the decoder
 * substitutes for invalid bytes). Returns the diagnostic, or undefined when the text may be parsed.
 */
export function checkRawText(file: string, text: string, maxBytes: number): Diagnostic | undefined {
  if (text.length > maxBytes || (text.length * 3 > maxBytes && utf8Length(text) > maxBytes)) {
    const mib = (utf8Length(text) / (1024 * 1024)).toFixed(1);
    return errorAt('file-too-large', `file is ${mib} MiB, more than the limit of ${formatBytes(maxBytes)}`, {
      file,
      line: 0,
      col: 0,
    });
  }
  const nul = text.indexOf('\u0000');
  if (nul !== -1) {
    return errorAt('binary-file', 'file contains a NUL byte: binary data, not YAML or JSON', offsetToPos(file, text, nul));
  }
  const bad = text.indexOf('\uFFFD');
  if (bad !== -1) {
    return errorAt('invalid-utf8', 'file is not valid UTF-8 text', offsetToPos(file, text, bad));
  }
  return undefined;
}

/** `4 GiB`, `8 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
