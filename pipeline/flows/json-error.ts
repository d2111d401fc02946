/**
 * What a `JSON.parse` failure says, made safe for a one-line message (JSON.parse quotes the input, which may be
 * binary). Positions come from json-syntax.ts, not from the message, whose wording differs between Node versions.
 */

/** The message with anything but printable ASCII replaced by `?`, at most 200 characters. */
export function printableMessage(err: unknown): string {
  const clean = ((err as Error)?.message ?? String(err)).replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
