/**
 * Makes text that came from outside (a file name, a manifest's field name, a remote server's message) safe to put
 * in a one-line message for a terminal or a log: every character that could move the cursor, start an escape
 * sequence, begin a new log line or reorder what the reader sees becomes a visible escape.
 */

/**
 * The characters escaped: C0 controls (U+0000–U+001F, tab and newline included), DEL (U+007F), C1 controls
 * (U+0080–U+009F, NEL included), the line and paragraph separators (U+2028, U+2029) and the bidirectional controls
 * (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Tests for any unsafe character, without the global flag's lastIndex state. */
const HAS_UNSAFE = new RegExp(UNSAFE.source);

function escapeOne(ch: string): string {
  const cp = ch.charCodeAt(0);
  const hex = cp.toString(16).padStart(cp <= 0xff ? 2 : 4, '0');
  return cp <= 0xff ? `\\x${hex}` : `\\u${hex}`;
}

/**
 * `text` with every unsafe character written as `\xHH` (up to U+00FF) or `\uHHHH`, e.g. ESC as `\x1b`, a newline as
 * `\x0a`, RIGHT-TO-LEFT OVERRIDE as `\u202e`. Everything else, the backslash included, is left as it is.
 *
 * Idempotent: the result holds none of the characters escaped, so escaping it again changes nothing. That is what
 * lets error constructors escape what they quote and the CLI's output sink escape every line once more, as a last
 * line of defence, without ever showing `\\x1b` for an ESC. (Leaving the backslash alone is the price: the text
 * `\x1b` typed literally and an escaped ESC look the same, which is harmless, since neither does anything.)
 * @returns `text` itself when nothing needed escaping.
 */
export function escapeUntrusted(text: string): string {
  return HAS_UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}
