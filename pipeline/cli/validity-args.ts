/**
 * The validity flags `palisade compile` and `palisade publish` share: `--expires DURATION` (counted from the
 * creation time, the reproducible default of 30 days), `--expires-in DURATION` (counted from now), `--expires-at
 * TIME` (absolute), at most one of them; and `--min-validity DURATION`, the least validity a bundle must have left
 * when published (default 3 days). See pipeline/bundle-build/validity.ts.
 */
import { UsageError } from '../core/errors.js';
import { DEFAULT_MIN_VALIDITY_MS, parseDuration } from '../bundle-build/index.js';

/** The option definitions, to spread into a command's parseCommandArgs options. */
export const VALIDITY_OPTIONS = {
  expires: { type: 'string' },
  'expires-in': { type: 'string' },
  'expires-at': { type: 'string' },
  'min-validity': { type: 'string' },
} as const;

/** Usage text of the flags. */
export const VALIDITY_USAGE = '[--expires DURATION | --expires-in DURATION | --expires-at TIME] [--min-validity DURATION]';

/** What the flags ask for, as buildBundleFromDir options (`lifetimeMs` or `expiresAt`) plus the margin. */
export interface ValidityArgs {
  readonly lifetimeMs?: number;
  readonly expiresAt?: Date;
  readonly minValidityMs: number;
}

/**
 * Reads the validity flags.
 * @param now the clock `--expires-in` counts from (whole seconds).
 * @throws UsageError for a malformed value or more than one of the expiry flags.
 */
export function parseValidityArgs(values: { expires?: string | undefined; 'expires-in'?: string | undefined; 'expires-at'?: string | undefined;
  'min-validity'?: string | undefined }, now: Date): ValidityArgs {
  const given = (['expires', 'expires-in', 'expires-at'] as const).filter((k) => values[k] !== undefined);
  if (given.length > 1) throw new UsageError(`use one of --expires, --expires-in and --expires-at, not ${given.map((k) => `--${k}`).join(' and ')}`);
  const minValidityMs = values['min-validity'] === undefined ? DEFAULT_MIN_VALIDITY_MS : parseDuration(values['min-validity']);
  if (values['expires-at'] !== undefined) return { expiresAt: parseRfc3339(values['expires-at'], '--expires-at'), minValidityMs };
  if (values['expires-in'] !== undefined) {
    const from = Math.floor(now.getTime() / 1000) * 1000;
    return { expiresAt: new Date(from + parseDuration(values['expires-in'])), minValidityMs };
  }
  return values.expires === undefined ? { minValidityMs } : { lifetimeMs: parseDuration(values.expires), minValidityMs };
}

/**
 * An RFC 3339 time such as `2026-12-31T00:00:00Z`.
 * @throws UsageError naming `flag` otherwise.
 */
export function parseRfc3339(text: string, flag: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError(`${flag} must be an RFC 3339 time such as 2026-12-31T00:00:00Z, got '${text}'`);
  }
  return d;
}
