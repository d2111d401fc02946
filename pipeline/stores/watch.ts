/**
 * Change feeds for stores that have no push channel: poll `latest` and yield each forward move.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BundleDescriptor, WatchOptions } from './types.js';

/** Default poll interval of a watch, in milliseconds. */
export const DEFAULT_POLL_MS = 500;

/**
 * Yields the latest descriptor each time its serial rises above the last one seen (starting at `sinceSerial`).
 * Ends quietly when the signal aborts; errors from `readLatest` end the iteration with that error.
 */
export async function* pollLatest(readLatest: () => Promise<BundleDescriptor | undefined>, sinceSerial: number,
  options: WatchOptions): AsyncGenerator<BundleDescriptor> {
  let seen = sinceSerial;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  while (!options.signal.aborted) {
    const d = await readLatest();
    if (d && d.serial > seen) {
      seen = d.serial;
      yield d;
      continue;
    }
    try {
      await sleep(pollMs, undefined, { signal: options.signal });
    } catch {
      return; // aborted
    }
  }
}
