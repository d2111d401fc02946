/**
 * Streams text lines out of a byte stream, transparently un-gzipping it (by magic bytes, so `.gz` files and gzip on
 * stdin both work). Never holds more than one line (bounded by `maxLineBytes`) plus one chunk in memory.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** One line (without its `\n` / `\r\n`), numbered from 1; `tooLong` lines carry no text. */
export interface Line {
  readonly lineNo: number;
  readonly text: string;
  readonly tooLong: boolean;
}

async function* decompressed(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    const input = Readable.from(all());
    input.on('error', (err) => gunzip.destroy(err));
    yield* input.pipe(gunzip) as AsyncIterable<Buffer>;
    return;
  }
  yield* all();
}

/**
 * Splits a (possibly gzipped) byte stream into lines, yielded in batches (one batch per input chunk) so that the
 * per-line cost stays a loop step rather than a promise.
 * @param maxLineBytes longest line accepted; a longer one is yielded once with `tooLong: true` and no text
 */
export async function* readLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<Line[]> {
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let discarding = false;
  const finish = (tail: Buffer): Line => {
    lineNo++;
    if (discarding) {
      discarding = false;
      pending = [];
      pendingBytes = 0;
      return { lineNo, text: '', tooLong: true };
    }
    const buf = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 13) end--;
    return { lineNo, text: buf.toString('utf8', 0, end), tooLong: false };
  };
  for await (const chunk of decompressed(source)) {
    const batch: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (!discarding && pendingBytes + (nl - start) > maxLineBytes) discarding = true;
      batch.push(finish(discarding ? EMPTY : chunk.subarray(start, nl)));
      start = nl + 1;
    }
    if (start < chunk.length && !discarding) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > maxLineBytes) {
        discarding = true;
        pending = [];
      } else {
        // Copy: the stream may reuse its buffer.
        pending.push(Buffer.from(rest));
      }
    }
    if (batch.length > 0) yield batch;
  }
  if (pendingBytes > 0 || discarding) yield [finish(EMPTY)];
}

const EMPTY = Buffer.alloc(0);
