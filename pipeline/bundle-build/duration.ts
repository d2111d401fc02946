/**
 * Durations as people type them on the command line: `30d`, `12h`, `90m`, `45s`, or combinations like `1d12h`.
 */
import { UsageError } from '../core/errors.js';

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/**
 * Parses a duration.
 * @returns milliseconds, > 0.
 * @throws UsageError for anything else.
 */
export function parseDuration(text: string): number {
  if (!/^(\d+[dhms])+$/.test(text)) throw new UsageError(`bad duration '${text}' (use e.g. 30d, 12h, 90m)`);
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new UsageError(`bad duration '${text}'`);
  return ms;
}
