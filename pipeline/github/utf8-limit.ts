/**
 * Cutting text to a byte budget of UTF-8 without splitting a character, with a note saying how much was left out.
 * GitHub counts check-run summaries in characters; counting UTF-8 bytes is stricter, so the result fits either way.
 */

/** 65,535: GitHub's limit for a check run's summary and text. */
export const CHECK_OUTPUT_LIMIT = 65_535;
/** 1 MiB: GitHub's limit for one step's job summary. */
export const JOB_SUMMARY_LIMIT = 1024 * 1024;

/**
 * `text` unchanged when its UTF-8 encoding fits `maxBytes`; otherwise the longest prefix of whole lines (whole
 * characters when one line is too long) that fits together with `note(linesLeftOut)`.
 * @throws RangeError when `maxBytes` cannot hold the note.
 */
export function truncateUtf8(text: string, maxBytes: number, note: (lines: number) => string = (n) => `\n\n… ${n} more line${n === 1 ? '' : 's'} not shown.\n`): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const lines = text.split('\n');
  // The note's size depends on the count; the widest count is the number of lines.
  const reserve = Buffer.byteLength(note(lines.length), 'utf8');
  if (reserve > maxBytes) throw new RangeError(`a budget of ${maxBytes} bytes cannot hold the truncation note`);
  const budget = maxBytes - reserve;
  let used = 0;
  let kept = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(line, 'utf8') + (kept > 0 ? 1 : 0);
    if (used + size > budget) break;
    used += size;
    kept++;
  }
  let head = lines.slice(0, kept).join('\n');
  if (kept === 0) head = prefixWithinBytes(lines[0]!, budget);
  return head + note(lines.length - kept);
}

/** The longest prefix of `s` whose UTF-8 encoding fits `maxBytes`, never ending inside a character. */
export function prefixWithinBytes(s: string, maxBytes: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= maxBytes) return s;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that does not fit.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
