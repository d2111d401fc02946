/**
 * Buffered output with back-pressure: text and ready-made bytes (cached UTF-8 of repeated texts, decimal numbers)
 * go straight into a 64 KiB byte chunk (off the JS heap, so pending output costs the collector nothing) that is
 * handed to the stream when full; the writer waits for 'drain' when the destination is slower than the simulation.
 */
import type { Writable } from 'node:stream';

const CHUNK_BYTES = 64 * 1024;
const DIGIT_0 = 0x30;

/** Writes text and bytes to a stream in large chunks. Call `end()` to flush the rest (the stream is left open). */
export class TextSink {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private failed = false;
  constructor(private readonly out: Writable) {}

  /** True once the destination has failed or closed: nothing more can reach it (a flush would only fail again). */
  get broken(): boolean {
    return this.failed || this.out.destroyed;
  }

  /** Queues text (UTF-8); resolves at once unless a full chunk went into a full stream. */
  write(text: string): Promise<void> | undefined {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (text.length * 3 > CHUNK_BYTES - this.used) {
      const pending = this.flush();
      if (text.length * 3 > CHUNK_BYTES) {
        // Longer than a chunk (a large summary): write it as it is, after what was queued.
        return chain(pending, () => this.send(Buffer.from(text, 'utf8')));
      }
      this.used += this.chunk.write(text, this.used, 'utf8');
      return pending;
    }
    this.used += this.chunk.write(text, this.used, 'utf8');
    return undefined;
  }

  /**
   * Makes room for `bytes` more bytes in the current chunk (flushing it when needed), so that the next writes of at
   * most that many bytes do not flush: one back-pressure point for a line written in pieces.
   */
  reserve(bytes: number): Promise<void> | undefined {
    return bytes > CHUNK_BYTES - this.used ? this.flush() : undefined;
  }

  /** Bytes one chunk holds: `reserve` cannot promise more. */
  static readonly CHUNK_BYTES = CHUNK_BYTES;

  /**
   * Queues bytes that are already encoded (e.g. cached UTF-8 of a repeated text): a copy, no encoder call.
   * @param bytes at most 64 KiB
   */
  writeBytes(bytes: Uint8Array): Promise<void> | undefined {
    const pending = bytes.length > CHUNK_BYTES - this.used ? this.flush() : undefined;
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
    return pending;
  }

  /**
   * Queues a non-negative safe integer in decimal (ASCII digits), without making a string.
   * @throws RangeError when `n` is not a non-negative safe integer
   */
  writeDecimal(n: number): Promise<void> | undefined {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`writeDecimal: ${n} is not a non-negative safe integer`);
    const pending = CHUNK_BYTES - this.used < 16 ? this.flush() : undefined;
    const chunk = this.chunk;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let at = this.used + digits;
    this.used = at;
    let x = n;
    do {
      chunk[--at] = DIGIT_0 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
    return pending;
  }

  /** Writes out what is buffered. */
  flush(): Promise<void> | undefined {
    if (this.used === 0) return undefined;
    const data = this.chunk.subarray(0, this.used);
    // The stream may hold on to the bytes: start a new chunk rather than reuse this one.
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    return this.send(data);
  }

  /** Flushes everything. */
  async end(): Promise<void> {
    await this.flush();
  }

  private send(data: Buffer): Promise<void> | undefined {
    if (this.out.destroyed) {
      this.failed = true;
      return Promise.reject(closedError());
    }
    if (this.out.write(data)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        this.out.off('close', onClose);
        if (err) {
          this.failed = true;
          reject(err);
        } else resolve();
      };
      const onDrain = (): void => done();
      const onError = (err: Error): void => done(err);
      // A destination closed while we wait (the reader went away) never drains.
      const onClose = (): void => done(closedError());
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
      this.out.once('close', onClose);
    });
  }
}

function chain(first: Promise<void> | undefined, next: () => Promise<void> | undefined): Promise<void> | undefined {
  if (first === undefined) return next();
  return first.then(() => next());
}

function closedError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('output closed');
  err.code = 'EPIPE';
  return err;
}
