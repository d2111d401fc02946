/**
 * The validity window of a bundle and the check that a bundle is worth publishing. A bundle is valid from
 * `createdAt` to `expiresAt`; agents refuse it after `expiresAt` (freeze protection). Both times are build inputs,
 * so a build is reproducible: `createdAt` is --created-at, else $SOURCE_DATE_EPOCH, else the commit time of the
 * policy repository's HEAD, else the build clock; `expiresAt` is --expires-at when given, else `createdAt` +
 * --expires (default 30 days). Publishing refuses a bundle that would be valid for less than a margin
 * (default {@link DEFAULT_MIN_VALIDITY_MS}) at the moment of publishing: re-publishing an old commit would otherwise
 * move `latest` to a bundle every agent refuses.
 */
import { BundleExpiryError } from './errors.js';
import { formatDuration } from './duration.js';

/** Least validity a bundle must have left when it is published: 3 days (a weekend of no merges stays safe). */
export const DEFAULT_MIN_VALIDITY_MS = 3 * 86_400_000;

/** Where a bundle's `createdAt` came from, for messages. */
export type CreatedAtOrigin = 'created-at option' | 'SOURCE_DATE_EPOCH' | 'commit time' | 'build clock';

/**
 * The problem with publishing a bundle valid until `expiresAt` at `now`, or `undefined` when it is valid for at
 * least `minValidityMs` more.
 * @returns BundleExpiryError `bundle-build-expired` (already expired) or `bundle-build-expires-soon`; never throws.
 */
export function validityProblem(window: { createdAt: Date; expiresAt: Date; createdFrom: CreatedAtOrigin }, now: Date,
  minValidityMs: number): BundleExpiryError | undefined {
  const left = window.expiresAt.getTime() - now.getTime();
  if (left >= minValidityMs) return undefined;
  const data = { expiresAt: window.expiresAt, now, minValidityMs };
  const when = `created ${iso(window.createdAt)} (${window.createdFrom}), expires ${iso(window.expiresAt)}`;
  const fix = 'agents refuse expired bundles; give it a later expiry with --expires-in DURATION (counted from now) or --expires-at TIME';
  if (left <= 0) {
    return new BundleExpiryError('bundle-build-expired', `the bundle is expired: ${when}, ${formatDuration(-left)} ago; ${fix}`, data);
  }
  return new BundleExpiryError('bundle-build-expires-soon',
    `the bundle expires in ${formatDuration(left)}, less than the ${formatDuration(minValidityMs)} required (--min-validity): ${when}; ${fix}`, data);
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
