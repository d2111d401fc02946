/**
 * Buffered text output with back-pressure: many small writes are encoded straight into a 64 KiB byte buffer (off
 * the JS heap, so pending output costs the collector nothing) that is handed to the stream when full; the writer
 * waits for 'drain' when the destination is slower than the simulation.
 */
import type { Writable } from 'node:stream';

const CHUNK_BYTES = 64 * 1024;

/** Writes text to a stream in large chunks. Call `end()` to flush the rest (the stream itself is left open). */
export class TextSink {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  constructor(private readonly out: Writable) {}

  /** Queues text; resolves at once unless a full chunk went into a full stream. */
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
    if (this.out.destroyed) return Promise.reject(closedError());
    if (this.out.write(data)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        this.out.off('close', onClose);
        if (err) reject(err);
        else resolve();
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
