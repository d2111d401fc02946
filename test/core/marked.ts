/**
 * Test helper: YAML written with a `‸` marker before the token a diagnostic must point at. `marked()` strips the
 * common indentation and the marker and returns the text with the marker's 1-based line and column.
 */
export interface Marked {
  readonly text: string;
  readonly line: number;
  readonly col: number;
}

/** Strips the leading newline and the common indentation of a template literal. */
export function dedent(s: string): string {
  const body = s.replace(/^\n/, '').replace(/\n[ \t]*$/, '\n');
  const lines = body.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const n = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(n)).join('\n');
}

/** Finds and removes the `‸` marker; line/col are 0 when there is none. */
export function marked(s: string): Marked {
  const text = dedent(s);
  const i = text.indexOf('‸');
  if (i === -1) return { text, line: 0, col: 0 };
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  const col = i - before.lastIndexOf('\n');
  return { text: text.slice(0, i) + text.slice(i + 1), line, col };
}
