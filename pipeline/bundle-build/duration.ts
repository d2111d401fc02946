/**
 * Durations as people type them on the command line: `30d`, `12h`, `90m`, `45s`, or combinations like `1d12h`;
 * and back, for messages.
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

/** `ms` in the same notation, largest two units, rounded down (e.g. `10d3h`, `45m`, `0s`). */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
  }
  const kept = parts.slice(0, 2).filter((p) => !p.startsWith('0'));
  return kept.length > 0 ? kept.join('') : '0s';
}
