/**
 * Streams recorded flows from files, gzip files and stdin (`-`), in order, one normalised Flow per flow line.
 * Memory stays bounded by one line (`maxLineBytes`) plus the endpoint caches, whatever the recording's length.
 */
import { open } from 'node:fs/promises';
import type { Flow } from '../core/flow/types.js';
import { EndpointResolver } from './endpoint-resolver.js';
import { formatBytes } from '../core/load/text-checks.js';
import { FlowInputError, FlowIoError } from './errors.js';
import { InvalidFlowError, normaliseHubbleRecord } from './hubble-record.js';
import type { Inventory } from './inventory.js';
import { printableMessage } from './json-error.js';
import { isJsonText, jsonSyntaxErrorAt } from './json-syntax.js';
import { DecompressedTooLargeError, readLines, type Line, type LineBatch } from './line-reader.js';

/** Longest line accepted by default (bytes). Real flows are 1–10 KB; L7 flows with many headers stay far below. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Most bytes one gzip input may decompress to by default: 4 GiB. Real recordings compress 10–30 times, so this
 * admits about 150–400 MiB of gzip (millions of flows), while a gzip bomb (up to 1000 times) stops after reading a
 * few MiB.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 4 * 1024 ** 3;

/** Skipped-invalid messages kept for the summary. */
const MAX_INVALID_SAMPLES = 5;

/**
 * Malformed lines skipped before every further line is syntax-checked without throwing first. A failed JSON.parse
 * costs 10–20 µs (an exception); the check costs a few ns a byte, about what parsing costs a good line, so it is
 * only worth it once a recording has shown itself to be largely garbage (a flood of `{x}` lines, gzipped).
 */
const SYNTAX_CHECK_AFTER = 1000;

/**
 * Most flows per batch. Small on purpose: flows are judged and dropped batch by batch, and when a whole input chunk
 * (hundreds of flows) is parsed ahead, the young-generation collector finds nearly all recently built flows alive,
 * V8 starts allocating them straight into the old generation (allocation-site pretenuring), and the heap then grows
 * with dead flows until a full collection. Measured on the simulate benchmark: JS heap flat with small batches,
 * rising from about 50 to 120 MiB within 300,000 flows with one batch per 1 MiB chunk.
 */
const MAX_BATCH = 64;

/** Counters of one reading run. */
export interface FlowReadStats {
  files: number;
  lines: number;
  flows: number;
  blank: number;
  /** Lines that are events but not flows (lost events, agent events, ...). */
  notFlows: number;
  /** Flows without IP/L4 headers a policy could judge (ARP, unknown IP protocols). */
  unjudgeable: number;
  /** Malformed lines skipped because of `skipInvalid`. */
  invalid: number;
  /** The first few skipped-invalid messages, for a summary. */
  invalidSamples: string[];
}

export interface ReadFlowsOptions {
  /** Fills in endpoints that the recording left without labels, adds namespace labels and named ports. */
  readonly inventory?: Inventory;
  /** Count and skip malformed lines instead of failing on the first. */
  readonly skipInvalid?: boolean;
  /** Longest line accepted, in bytes (default DEFAULT_MAX_LINE_BYTES). */
  readonly maxLineBytes?: number;
  /** Most bytes one gzip input may decompress to (default DEFAULT_MAX_DECOMPRESSED_BYTES). */
  readonly maxDecompressedBytes?: number;
  /** The stream `-` reads (default process.stdin). */
  readonly stdin?: AsyncIterable<Buffer | string>;
}

/** The 1-based column (in characters) where a malformed line stops being JSON: the same whatever Node's messages say. */
function syntaxErrorColumn(line: Line): number {
  const bytes = line.bytes;
  const at = jsonSyntaxErrorAt(bytes, 0, bytes.length);
  return (at < 0 ? 0 : bytes.toString('utf8', 0, at).length) + 1;
}

function isLineJson(line: Line): boolean {
  const bytes = line.bytes;
  return isJsonText(bytes, 0, bytes.length);
}

/** Reads flows from several sources in order; `stats` fills as the flows are consumed. */
export class FlowReader {
  readonly stats: FlowReadStats = { files: 0, lines: 0, flows: 0, blank: 0, notFlows: 0, unjudgeable: 0, invalid: 0, invalidSamples: [] };
  private readonly resolver: EndpointResolver;

  constructor(
    private readonly sources: readonly string[],
    private readonly options: ReadFlowsOptions = {},
  ) {
    this.resolver = new EndpointResolver(options.inventory);
  }

  /**
   * The flows, in input order, indexed from 0 across all sources.
   * @throws FlowIoError when a source cannot be read; FlowInputError (file:line:col) on a malformed line unless
   *   `skipInvalid`, on corrupt gzip data (`flows-corrupt-gzip`) and on a gzip input that decompresses to more than
   *   `maxDecompressedBytes` (`flows-decompressed-too-large`; not skipped)
   */
  async *flows(): AsyncGenerator<Flow> {
    for (const source of this.sources) {
      for await (const batch of this.batchesOf(source)) for (const flow of batch) yield flow;
    }
  }

  /** The same flows in batches (one per input chunk): for consumers that judge without awaiting per flow. */
  async *batches(): AsyncGenerator<Flow[]> {
    for (const source of this.sources) yield* this.batchesOf(source);
  }

  /** True when a malformed line only needs counting: skipped, and the samples are complete (no message built). */
  private get onlyCounting(): boolean {
    return this.options.skipInvalid === true && this.stats.invalidSamples.length >= MAX_INVALID_SAMPLES;
  }

  /**
   * A malformed line: thrown, or counted and skipped. The error is built only when it is thrown or kept as a sample
   * (building one costs about as much as parsing a good line).
   */
  private reject(error: () => FlowInputError): void {
    if (!this.options.skipInvalid) throw error();
    this.stats.invalid++;
    if (this.stats.invalidSamples.length < MAX_INVALID_SAMPLES) {
      const err = error();
      this.stats.invalidSamples.push(`${err.pos.file}:${err.pos.line}: ${err.message}`);
    }
  }

  /** One line → a flow, or null when it is not a flow or skipped as invalid. */
  private lineToFlow(line: Line, file: string, maxLineBytes: number): Flow | null {
    const stats = this.stats;
    stats.lines++;
    if (line.tooLong) {
      this.reject(() => new FlowInputError('flows-line-too-long', `line is longer than ${maxLineBytes} bytes`, { file, line: line.lineNo, col: 1 }));
      return null;
    }
    // Once only counting, no parse and no error object is spent on a line that cannot be a JSON object (it must
    // start with `{` and end with `}`), nor, in a recording already full of garbage, on one that is not JSON at all.
    if (this.onlyCounting && (line.firstByte !== 0x7b || line.lastByte !== 0x7d || (stats.invalid >= SYNTAX_CHECK_AFTER && !isLineJson(line)))) {
      stats.invalid++;
      return null;
    }
    let record: unknown;
    try {
      record = JSON.parse(line.text);
    } catch (err) {
      this.reject(() => new FlowInputError('flows-invalid-json', `not JSON: ${printableMessage(err)}`, { file, line: line.lineNo, col: syntaxErrorColumn(line) }));
      return null;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      this.reject(() => new FlowInputError('flows-not-an-object', 'a flow line must be a JSON object', { file, line: line.lineNo, col: 1 }));
      return null;
    }
    let result;
    try {
      result = normaliseHubbleRecord(record as Record<string, unknown>, stats.flows, this.resolver);
    } catch (err) {
      if (!(err instanceof InvalidFlowError)) throw err;
      this.reject(() => new FlowInputError('flows-invalid-flow', `invalid flow: ${err.message}`, { file, line: line.lineNo, col: 1 }));
      return null;
    }
    if (result.kind === 'not-a-flow') stats.notFlows++;
    else if (result.kind === 'unjudgeable') stats.unjudgeable++;
    else {
      stats.flows++;
      return result.flow;
    }
    return null;
  }

  private async *batchesOf(source: string): AsyncGenerator<Flow[]> {
    const file = source === '-' ? '<stdin>' : source;
    let stream: AsyncIterable<Buffer | string>;
    let close: (() => Promise<void>) | undefined;
    if (source === '-') {
      stream = this.options.stdin ?? process.stdin;
    } else {
      try {
        const handle = await open(source, 'r');
        stream = handle.createReadStream({ highWaterMark: 1 << 20 });
        close = () => handle.close().catch(() => undefined);
      } catch (err) {
        throw new FlowIoError(file, err);
      }
    }
    this.stats.files++;
    const maxLineBytes = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const stats = this.stats;
    try {
      const batches = readLines(stream, { maxLineBytes, maxDecompressedBytes: this.options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES });
      for (;;) {
        let next: IteratorResult<LineBatch>;
        try {
          next = await batches.next();
        } catch (err) {
          if (err instanceof DecompressedTooLargeError) {
            const where = { file, line: stats.lines + 1, col: 1 };
            throw new FlowInputError('flows-decompressed-too-large', `gzip data decompresses to more than ${formatBytes(err.limit)}, the limit for one input`, where);
          }
          const code = (err as NodeJS.ErrnoException)?.code;
          if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR_INVALID_ARG_TYPE') {
            throw new FlowInputError('flows-corrupt-gzip', `corrupt gzip data after line ${stats.lines}`, { file, line: stats.lines + 1, col: 1 });
          }
          throw new FlowIoError(file, err);
        }
        if (next.done) break;
        stats.lines += next.value.blank;
        stats.blank += next.value.blank;
        let batch: Flow[] = [];
        try {
          for (const line of next.value.lines) {
            const flow = this.lineToFlow(line, file, maxLineBytes);
            if (flow === null) continue;
            batch.push(flow);
            if (batch.length >= MAX_BATCH) {
              yield batch;
              batch = [];
            }
          }
        } catch (err) {
          // The flows before a bad line are still delivered, as they would be one by one.
          if (batch.length > 0) yield batch;
          throw err;
        }
        if (batch.length > 0) yield batch;
      }
    } finally {
      await close?.();
    }
  }
}
