/**
 * Capped exponential backoff with full jitter, for an unreachable store: the agent keeps enforcing and asks again
 * later, never in a busy loop. Pure: the random source is handed in.
 */

/** Backoff settings, in milliseconds. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Jitter fraction 0..1: the wait is drawn uniformly from [ceiling × (1 − jitter), ceiling]. */
  readonly jitter: number;
}

/** Default: 1 s doubling up to 60 s, half of each wait random. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: 0.5 };

/** Successive waits after failures; `reset()` after a success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt, in milliseconds (at least 1, at most `maxMs`). */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const floor = ceiling * (1 - this.options.jitter);
    return Math.max(1, Math.round(floor + (ceiling - floor) * this.random()));
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Back to the initial wait. */
  reset(): void {
    this.failures = 0;
  }
}
