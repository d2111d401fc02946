/**
 * Reading untrusted byte streams with a budget. Endless data is cut off at the limit (the source is told to stop),
 * short data is reported as truncated. Pure: the caller hands in the stream (an HTTP body, a file stream, chunks).
 */
import { BundleError } from './errors.js';

/** Hard ceiling on one bundle file unless a caller asks for another: 64 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** A source of bytes: anything async-iterable over byte chunks (Node streams, fetch bodies, arrays of chunks). */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Limits for a bounded read. */
export interface BoundedReadOptions {
  /** Never accept more than this many bytes in total (default {@link DEFAULT_MAX_BUNDLE_BYTES}). */
  readonly maxBytes?: number;
  /** The exact size announced for this download (a descriptor, Content-Length): more or fewer is an error. */
  readonly expectedSize?: number;
  /** Cancels the read (a deadline: `AbortSignal.timeout(ms)`): the source is told to stop, the read fails. */
  readonly signal?: AbortSignal;
}

/**
 * Pulls exact byte counts from a source, never more than a budget. Used by the streaming verifier and by
 * {@link readBounded}.
 */
export class BoundedByteReader {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  /** Chunks received; those before `first` are consumed, `queue[first]` is consumed up to `head`. */
  private queue: Uint8Array[] = [];
  private first = 0;
  private head = 0;
  private buffered = 0;
  private received = 0;
  private done = false;
  private readonly limit: number;
  private readonly expected: number | undefined;
  private readonly signal: AbortSignal | undefined;

  /** Set when the announced size is already over the limit: the first read refuses without pulling anything. */
  private readonly refused: BundleError | null;

  constructor(source: ByteSource, options: BoundedReadOptions = {}) {
    const max = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    this.refused = options.expectedSize !== undefined && options.expectedSize > max
      ? new BundleError('bundle-oversize', `announced size ${options.expectedSize} bytes exceeds the limit of ${max}`)
      : null;
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]();
    this.expected = options.expectedSize;
    this.signal = options.signal;
    this.limit = Math.min(max, options.expectedSize ?? Infinity);
  }

  /** Bytes handed out so far. */
  get offset(): number {
    return this.received - this.buffered;
  }

  /**
   * The next `n` bytes.
   * @throws BundleError `bundle-truncated` when the source ends first; `bundle-oversize` when the budget is exceeded.
   */
  async read(n: number): Promise<Uint8Array> {
    await this.checkRefused();
    if (this.offset + n > this.limit) {
      await this.close();
      throw this.oversize(this.offset + n);
    }
    while (this.buffered < n) {
      if (!(await this.pull())) {
        throw new BundleError('bundle-truncated', `data ended after ${this.received} bytes, ${this.offset + n} needed`);
      }
    }
    return this.take(n);
  }

  /**
   * Checks that the source has nothing left (and, with an announced size, that exactly that many bytes came).
   * @throws BundleError `bundle-oversize` for any byte after the end; `bundle-truncated` when fewer than announced.
   */
  async expectEnd(): Promise<void> {
    if (this.buffered > 0 || (await this.pull())) {
      await this.close();
      throw new BundleError('bundle-oversize', `data continues after the end of the bundle at byte ${this.offset}`);
    }
    this.checkAnnounced();
  }

  /** Reads everything up to the budget. @throws like {@link read} and {@link expectEnd}. */
  async readAll(): Promise<Uint8Array> {
    await this.checkRefused();
    while (await this.pull()) {
      // pull enforces the budget as chunks arrive
    }
    this.checkAnnounced();
    return this.take(this.buffered);
  }

  /** Tells the source to stop (releases a socket or file); safe to call twice. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.it.return?.();
  }

  private async checkRefused(): Promise<void> {
    if (!this.refused) return;
    await this.close();
    throw this.refused;
  }

  private checkAnnounced(): void {
    if (this.expected !== undefined && this.received < this.expected) {
      throw new BundleError('bundle-truncated', `got ${this.received} bytes, ${this.expected} were announced`);
    }
  }

  private oversize(n: number): BundleError {
    return this.expected !== undefined && n > this.expected
      ? new BundleError('bundle-oversize', `more than the announced ${this.expected} bytes`)
      : new BundleError('bundle-oversize', `more than the limit of ${this.limit} bytes`);
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered), copying only when they span chunks. */
  private take(n: number): Uint8Array {
    const first = this.queue[this.first];
    const single = first !== undefined && first.byteLength - this.head >= n;
    const out = single ? first.subarray(this.head, this.head + n) : new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.queue[this.first]!;
      const k = Math.min(n - filled, c.byteLength - this.head);
      if (!single) out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.head += k;
      if (this.head === c.byteLength) {
        this.first++;
        this.head = 0;
      }
    }
    // Drop consumed chunks in bulk (an index instead of shift() keeps many tiny chunks linear).
    if (this.first > 1024 || this.first === this.queue.length) {
      this.queue = this.queue.slice(this.first);
      this.first = 0;
    }
    this.buffered -= n;
    return out;
  }

  /** The source's next chunk, or the cancellation if the signal fires first (a stalled source cannot hold us). */
  private async nextChunk(): Promise<IteratorResult<Uint8Array>> {
    const signal = this.signal;
    if (!signal) return this.it.next();
    const cancelled = (): BundleError => {
      this.done = true;
      // Not awaited: a source stuck in its own await finishes its return() only when that await settles.
      Promise.resolve(this.it.return?.()).catch(() => undefined);
      return new BundleError('bundle-cancelled', `the read was cancelled after ${this.received} bytes: ${String(signal.reason?.message ?? signal.reason ?? 'aborted')}`);
    };
    if (signal.aborted) throw cancelled();
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelled());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // The listener is in place before the source runs, so an abort from within the source is seen too.
      const next = this.it.next();
      return await Promise.race([next, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One more chunk into the queue; false at the end of the source. */
  private async pull(): Promise<boolean> {
    if (this.done) return false;
    for (;;) {
      const r = await this.nextChunk();
      if (r.done) {
        this.done = true;
        return false;
      }
      const chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        await this.close();
        throw new TypeError('byte source yielded a non-byte chunk');
      }
      if (chunk.byteLength === 0) continue;
      this.received += chunk.byteLength;
      if (this.received > this.limit) {
        await this.close();
        throw this.oversize(this.received);
      }
      this.queue.push(chunk);
      this.buffered += chunk.byteLength;
      return true;
    }
  }
}

/**
 * Reads a whole untrusted download within limits.
 * @returns all bytes.
 * @throws BundleError `bundle-oversize` as soon as more than `maxBytes` (or the announced size) arrive, after
 *   telling the source to stop; `bundle-truncated` when fewer than the announced size arrive; `bundle-cancelled`
 *   when `signal` fires first.
 */
export async function readBounded(source: ByteSource, options: BoundedReadOptions = {}): Promise<Uint8Array> {
  return new BoundedByteReader(source, options).readAll();
}
