/**
 * The agent's log sink: one line per event, `<RFC 3339 time> <level> <message>`, to a writable stream. Everything a
 * line quotes from input (bundle messages, pod names, file paths) goes through the project's one escaper
 * (`escapeUntrusted`, pipeline/core/text) first, so a hostile value cannot forge a log line or drive a terminal.
 */
import { escapeUntrusted } from '../../pipeline/core/text/index.js';

/** Log levels. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Where the agent writes its log. */
export interface AgentLog {
  /** Writes one line; `message` is escaped here. */
  line(level: LogLevel, message: string): void;
}

/** A log sink writing to `out` (stderr by default), stamped by `now`. */
export function streamLog(out: { write(text: string): unknown } = process.stderr, now: () => Date = () => new Date()): AgentLog {
  return {
    line(level, message) {
      out.write(`${now().toISOString()} ${level} ${escapeUntrusted(message)}\n`);
    },
  };
}

/** A log sink that keeps lines in memory (escaped as `streamLog` would), for tests and status. */
export function memoryLog(): AgentLog & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (level, message) => lines.push(`${level} ${escapeUntrusted(message)}`) };
}
