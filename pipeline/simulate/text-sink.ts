/**
 * Buffered text output with back-pressure: many small writes become ~16 KiB writes (small enough to die young in
 * the collector), and the writer waits for 'drain' when the destination is slower than the simulation.
 */
import type { Writable } from 'node:stream';

const FLUSH_AT = 16 * 1024;

/** Writes text to a stream in large chunks. Call `end()` to flush the rest (the stream itself is left open). */
export class TextSink {
  private buffer = '';
  constructor(private readonly out: Writable) {}

  /** Queues text; resolves at once unless the buffer was flushed into a full stream. */
  write(text: string): Promise<void> | undefined {
    this.buffer += text;
    if (this.buffer.length < FLUSH_AT) return undefined;
    return this.flush();
  }

  /** Writes out what is buffered. */
  flush(): Promise<void> | undefined {
    if (this.buffer === '') return undefined;
    const chunk = this.buffer;
    this.buffer = '';
    if (this.out.destroyed) return Promise.reject(closedError());
    if (this.out.write(chunk)) return undefined;
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

  /** Flushes everything. */
  async end(): Promise<void> {
    await this.flush();
  }
}

function closedError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('output closed');
  err.code = 'EPIPE';
  return err;
}
