/**
 * Streams text lines out of a byte stream, transparently un-gzipping it (by magic bytes, so `.gz` files and gzip on
 * stdin both work). Never holds more than one line (bounded by `maxLineBytes`) plus one chunk in memory, skips blank
 * lines with byte compares (no decoding, no parsing), and stops a gzip input that inflates past a bound.
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

  /** The line's bytes: a view of the input chunk, no copy. */
  get bytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** The first byte that is not ASCII whitespace, or -1 when there is none (never, for a yielded line). */
  get firstByte(): number {
    const at = skipBlank(this.buf, this.start, this.end);
    return at < this.end ? this.buf[at]! : -1;
  }

  /** The last byte that is not ASCII whitespace, or -1 when there is none. */
  get lastByte(): number {
    let at = this.end;
    while (at > this.start && isBlankByte(this.buf[at - 1]!)) at--;
    return at > this.start ? this.buf[at - 1]! : -1;
  }
}

/** The lines of one input chunk, and how many blank lines among them were skipped. */
export interface LineBatch {
  /** Non-blank lines, in order (their numbers count the blank lines too). */
  readonly lines: Line[];
  /** Empty and whitespace-only lines skipped in this batch. */
  readonly blank: number;
}

/** Bounds of one `readLines` run. */
export interface LineReadLimits {
  /** Longest line accepted (bytes); a longer one is yielded once with `tooLong: true` and no text. */
  readonly maxLineBytes: number;
  /** Most bytes a gzip input may decompress to; past it, reading stops with DecompressedTooLargeError. */
  readonly maxDecompressedBytes: number;
}

/** A gzip input decompressed to more than the bound (a gzip bomb, or a recording larger than allowed). */
export class DecompressedTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`gzip data decompresses to more than ${limit} bytes`);
  }
}

/** ASCII whitespace (space, tab, CR, vertical tab, form feed): what a blank line may hold besides nothing. */
function isBlankByte(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

/** Index of the first byte in [start, end) that is not ASCII whitespace, or `end`. */
function skipBlank(buf: Buffer, start: number, end: number): number {
  let at = start;
  while (at < end && isBlankByte(buf[at]!)) at++;
  return at;
}

async function* decompressed(source: AsyncIterable<Buffer | string>, maxDecompressedBytes: number): AsyncGenerator<Buffer> {
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
    let total = 0;
    try {
      for await (const chunk of input.pipe(gunzip) as AsyncIterable<Buffer>) {
        total += chunk.length;
        // Checked before the chunk is used: a bomb costs at most one chunk beyond the bound.
        if (total > maxDecompressedBytes) throw new DecompressedTooLargeError(maxDecompressedBytes);
        yield chunk;
      }
    } finally {
      input.destroy();
      gunzip.destroy();
    }
    return;
  }
  yield* all();
}

/**
 * Splits a (possibly gzipped) byte stream into lines, yielded in batches (one batch per input chunk) so that the
 * per-line cost stays a loop step rather than a promise. Blank and whitespace-only lines are counted, not yielded:
 * a file of nothing but newlines costs a byte compare per byte.
 * @throws DecompressedTooLargeError when a gzip input inflates past `maxDecompressedBytes`; zlib errors for
 *   corrupt gzip data
 */
export async function* readLines(source: AsyncIterable<Buffer | string>, limits: LineReadLimits): AsyncGenerator<LineBatch> {
  const { maxLineBytes } = limits;
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let discarding = false;
  let blank = 0;
  /** The line ending at `end` (exclusive) of `chunk`, or null when it is blank. */
  const finish = (chunk: Buffer, start: number, end: number): Line | null => {
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
    if (skipBlank(buf, start, end) === end) {
      blank++;
      return null;
    }
    if (buf[end - 1] === 13) end--;
    return new Line(lineNo, buf, start, end, false);
  };
  for await (const chunk of decompressed(source, limits.maxDecompressedBytes)) {
    const lines: Line[] = [];
    let start = 0;
    for (;;) {
      // Runs of empty lines are counted here, one byte compare each, before any search or object.
      if (pending.length === 0 && !discarding) {
        while (start < chunk.length && chunk[start] === 10) {
          lineNo++;
          blank++;
          start++;
        }
      }
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (!discarding && pendingBytes + (nl - start) > maxLineBytes) discarding = true;
      const line = finish(chunk, start, nl);
      if (line !== null) lines.push(line);
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
    if (lines.length > 0 || blank > 0) {
      yield { lines, blank };
      blank = 0;
    }
  }
  if (pendingBytes > 0 || discarding) {
    const line = finish(EMPTY, 0, 0);
    yield { lines: line === null ? [] : [line], blank };
  } else if (blank > 0) {
    yield { lines: [], blank };
  }
}

const EMPTY = Buffer.alloc(0);
