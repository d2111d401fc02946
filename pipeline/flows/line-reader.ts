/**
 * Streams text lines out of a byte stream, transparently un-gzipping it (by magic bytes, so `.gz` files and gzip on
 * stdin both work). Never holds more than one line (bounded by `maxLineBytes`) plus one chunk in memory.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * One line (without its `\n` / `\r\n`), numbered from 1; `tooLong` lines carry no text. The text is decoded only
 * when asked for: until then the line is a slice of the input chunk (off the JS heap), which keeps a batch of
 * pending lines from being copied around by the young-generation collector.
 */
export class Line {
  constructor(
    readonly lineNo: number,
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
    readonly tooLong: boolean,
  ) {}

  /** The decoded text (UTF-8). Decodes on every call. */
  get text(): string {
    return this.buf.toString('utf8', this.start, this.end);
  }
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
  const finish = (chunk: Buffer, start: number, end: number): Line => {
    lineNo++;
    if (discarding) {
      discarding = false;
      pending = [];
      pendingBytes = 0;
      return new Line(lineNo, EMPTY, 0, 0, true);
    }
    let buf = chunk;
    if (pending.length > 0) {
      buf = Buffer.concat([...pending, chunk.subarray(start, end)]);
      start = 0;
      end = buf.length;
    }
    pending = [];
    pendingBytes = 0;
    if (end > start && buf[end - 1] === 13) end--;
    return new Line(lineNo, buf, start, end, false);
  };
  for await (const chunk of decompressed(source)) {
    const batch: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (!discarding && pendingBytes + (nl - start) > maxLineBytes) discarding = true;
      batch.push(finish(chunk, start, nl));
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
  if (pendingBytes > 0 || discarding) yield [finish(EMPTY, 0, 0)];
}

const EMPTY = Buffer.alloc(0);
