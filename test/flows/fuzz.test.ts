/**
 * Fuzz: the flow reader on mutated real Hubble recordings (the shared corpus and the template's recorded flows).
 * Every outcome is either flows (indexed 0..n-1, counted) or a FlowInputError with a stable code and a position
 * inside the input; never another exception, never a hang (vitest's timeout). Mutations: bytes flipped, cut,
 * inserted and duplicated; lines dropped and repeated; a field of a real line replaced by any JSON value; blank and
 * CRLF lines; gzip, cut gzip; any chunking. Saved seeds, so failures reproduce; a failing seed found later is added.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowInputError, FlowReader, type FlowInputErrorCode } from '../../pipeline/flows/index.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, '../shared/corpus/hubble');

function realLines(): string[] {
  const files = [join(repoRoot, 'policy-repo-template/flows/recorded.json')];
  if (existsSync(corpus)) {
    for (const d of readdirSync(corpus, { recursive: true, withFileTypes: true })) if (d.isFile()) files.push(join(d.parentPath, d.name));
  }
  const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n')).filter((l) => l.trim() !== '');
  // A spread of the recordings (every kind of flow), small enough to mutate quickly.
  return lines.filter((_, i) => i % 7 === 0);
}

const LINES = realLines();
const CODES: readonly FlowInputErrorCode[] = ['flows-invalid-json', 'flows-not-an-object', 'flows-line-too-long', 'flows-invalid-flow', 'flows-corrupt-gzip', 'flows-decompressed-too-large'];
/** Per-line codes: the ones `skipInvalid` skips. */
const LINE_CODES: readonly FlowInputErrorCode[] = ['flows-invalid-json', 'flows-not-an-object', 'flows-line-too-long', 'flows-invalid-flow'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replaces the value at a pseudo-random path of `obj` (chosen by `pick`) with `value`. */
function replaceAt(obj: Json, pick: number[], value: Json): Json {
  if (pick.length === 0 || obj === null || typeof obj !== 'object') return value;
  const keys = Array.isArray(obj) ? obj.map((_, i) => i) : Object.keys(obj);
  if (keys.length === 0) return value;
  const k = keys[pick[0]! % keys.length]!;
  const copy: Json = Array.isArray(obj) ? [...obj] : { ...obj };
  (copy as Record<string | number, Json>)[k] = replaceAt((obj as Record<string | number, Json>)[k]!, pick.slice(1), value);
  return copy;
}

type LineEdit =
  | { kind: 'field'; line: number; pick: number[]; value: Json }
  | { kind: 'drop'; line: number }
  | { kind: 'repeat'; line: number }
  | { kind: 'blank'; line: number; text: string };

type ByteEdit = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array };

const lineEdit: fc.Arbitrary<LineEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('field' as const), line: fc.nat(), pick: fc.array(fc.nat(), { maxLength: 5 }), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }) },
  fc.record({ kind: fc.constant('drop' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('blank' as const), line: fc.nat(), text: fc.constantFrom('', ' ', '\t', '\r', ' \r', '\u00a0', '{}', '[]', 'null', '""') }),
);

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

const recording = fc.record({
  start: fc.nat(),
  count: fc.integer({ min: 1, max: 12 }),
  lineEdits: fc.array(lineEdit, { maxLength: 4 }),
  byteEdits: fc.array(byteEdit, { maxLength: 3 }),
  crlf: fc.boolean(),
  gzip: fc.constantFrom('no', 'no', 'yes', 'cut'),
  chunk: fc.integer({ min: 1, max: 4096 }),
  skipInvalid: fc.boolean(),
  maxLineBytes: fc.constantFrom(undefined, 200, 4096),
  maxDecompressedBytes: fc.constantFrom(undefined, 300, 20_000),
});

function build(r: typeof recording extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const lines = Array.from({ length: r.count }, (_, i) => LINES[(r.start + i) % LINES.length]!);
  for (const e of r.lineEdits) {
    const at = e.line % lines.length;
    if (e.kind === 'field') lines[at] = JSON.stringify(replaceAt(parsed(lines[at]!), e.pick, e.value));
    else if (e.kind === 'drop' && lines.length > 1) lines.splice(at, 1);
    else if (e.kind === 'repeat') lines.splice(at, 0, lines[at]!);
    else if (e.kind === 'blank') lines.splice(at, 0, e.text);
  }
  let bytes = Buffer.from(lines.join(r.crlf ? '\r\n' : '\n'));
  for (const e of r.byteEdits) {
    if (bytes.length === 0) break;
    const at = e.at % bytes.length;
    if (e.kind === 'flip') bytes[at] = bytes[at]! ^ (1 << e.bit);
    else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
    else bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
  }
  if (r.gzip === 'no') return bytes;
  const gz = gzipSync(bytes);
  return r.gzip === 'yes' ? gz : gz.subarray(0, Math.max(2, gz.length - 1 - (r.start % 16)));
}

/** A line as JSON, or as a string when an earlier edit made it something else. */
function parsed(line: string): Json {
  try {
    return JSON.parse(line) as Json;
  } catch {
    return line;
  }
}

function chunks(data: Buffer, size: number): Buffer[] {
  return Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

// Saved seeds: each reproduces a run.
const SEEDS = [20261202, 7, 314159];

describe('flow reader under mutation', () => {
  it('has real lines to mutate', () => expect(LINES.length).toBeGreaterThan(50));

  for (const seed of SEEDS) {
    it(`gives flows or a positioned FlowInputError, seed ${seed}`, async () => {
      await fc.assert(
        fc.asyncProperty(recording, async (r) => {
          const data = build(r);
          const reader = new FlowReader(['-'], {
            stdin: Readable.from(chunks(data, r.chunk)),
            skipInvalid: r.skipInvalid,
            ...(r.maxLineBytes !== undefined ? { maxLineBytes: r.maxLineBytes } : {}),
            ...(r.maxDecompressedBytes !== undefined ? { maxDecompressedBytes: r.maxDecompressedBytes } : {}),
          });
          const indexes: number[] = [];
          let stoppedOnLine = false;
          try {
            for await (const batch of reader.batches()) for (const f of batch) indexes.push(f.index);
          } catch (err) {
            if (!(err instanceof FlowInputError)) throw err;
            expect(CODES).toContain(err.code);
            if (r.skipInvalid) expect(LINE_CODES).not.toContain(err.code);
            expect(err.pos.file).toBe('<stdin>');
            expect(err.pos.line).toBeGreaterThanOrEqual(1);
            expect(err.pos.col).toBeGreaterThanOrEqual(1);
            expect(err.message).toMatch(/^[^\n]+$/);
            stoppedOnLine = LINE_CODES.includes(err.code);
          }
          expect(indexes).toEqual(indexes.map((_, i) => i));
          const s = reader.stats;
          expect(s.flows).toBe(indexes.length);
          // Every line read is counted once (a line that stopped the run is read but not classified).
          expect(s.flows + s.notFlows + s.unjudgeable + s.invalid + s.blank).toBe(s.lines - (stoppedOnLine ? 1 : 0));
        }),
        { seed, numRuns: 400, endOnFailure: true },
      );
    });
  }
});
