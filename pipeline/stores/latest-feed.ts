/**
 * One shared view of a store's latest descriptor for a server: read once per poll interval however many clients
 * ask, and a wake-up for every long-poll and event-stream client when it moves.
 */
import type { BundleDescriptor } from './types.js';

type Listener = (d: BundleDescriptor | undefined) => void;

/** A polled, cached `latest` with change notification. Call {@link start} before use and {@link stop} after. */
export class LatestFeed {
  readonly #read: () => Promise<BundleDescriptor | undefined>;
  readonly #pollMs: number;
  readonly #listeners = new Set<Listener>();
  #current: BundleDescriptor | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #onError: (err: unknown) => void;
  #failing = false;

  /**
   * @param read reads the store's latest descriptor.
   * @param pollMs how often to re-read it, in milliseconds (publishes through other processes show up this late).
   * @param onError told about the first failed read of a run of failures; the last good value stays in place.
   */
  constructor(read: () => Promise<BundleDescriptor | undefined>, pollMs: number, onError: (err: unknown) => void) {
    this.#read = read;
    this.#pollMs = pollMs;
    this.#onError = onError;
  }

  /** Reads the latest descriptor and starts polling. @throws what the first read throws. */
  async start(): Promise<void> {
    this.#current = await this.#read();
    this.#timer = setInterval(() => void this.refresh(), this.#pollMs);
    this.#timer.unref();
  }

  /** Stops polling and wakes every waiter with the current value. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const l of [...this.#listeners]) l(this.#current);
    this.#listeners.clear();
  }

  /** The cached latest descriptor. */
  get current(): BundleDescriptor | undefined {
    return this.#current;
  }

  /** Re-reads now (after an upload, say); concurrent calls share one read. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().then((d) => {
      this.#failing = false;
      if (d?.serial !== this.#current?.serial || d?.digest !== this.#current?.digest) {
        this.#current = d;
        for (const l of [...this.#listeners]) l(d);
      }
    }, (err: unknown) => {
      // Report the first failure of a run, not every poll of it.
      if (!this.#failing) this.#onError(err);
      this.#failing = true;
    }).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the latest descriptor once `isUnchanged` says no, or after `timeoutMs`, or when the feed stops or
   * `signal` aborts, whichever comes first.
   */
  waitForChange(isUnchanged: (d: BundleDescriptor | undefined) => boolean, timeoutMs: number, signal: AbortSignal):
    Promise<BundleDescriptor | undefined> {
    if (!isUnchanged(this.#current) || this.#timer === undefined) return Promise.resolve(this.#current);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener('abort', done);
        resolve(this.#current);
      };
      const unsubscribe = this.subscribe((d) => {
        if (!isUnchanged(d) || this.#timer === undefined) done();
      });
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
