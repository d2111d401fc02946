/**
 * The agent's log sink: one line per event, `<RFC 3339 time> <level> <message>`, to a writable stream. Everything a
 * line quotes from input (bundle messages, pod names, file paths) goes through `escapeControl` first, so a hostile
 * value cannot forge a log line or drive a terminal.
 */

/** Log levels. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Where the agent writes its log. */
export interface AgentLog {
  /** Writes one line; `message` is escaped here. */
  line(level: LogLevel, message: string): void;
}

/**
 * Control characters (C0, DEL, C1), and the Unicode line and paragraph separators, as `\xNN` / `\uNNNN` escapes; a
 * backslash is doubled so an escape in the input is not mistaken for one of ours.
 * @returns text with no character that could end or rewrite a log line
 */
export function escapeControl(text: string): string {
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A log sink writing to `out` (stderr by default), stamped by `now`. */
export function streamLog(out: { write(text: string): unknown } = process.stderr, now: () => Date = () => new Date()): AgentLog {
  return {
    line(level, message) {
      out.write(`${now().toISOString()} ${level} ${escapeControl(message)}\n`);
    },
  };
}

/** A log sink that keeps lines in memory (escaped as `streamLog` would), for tests and status. */
export function memoryLog(): AgentLog & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (level, message) => lines.push(`${level} ${escapeControl(message)}`) };
}
