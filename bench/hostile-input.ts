/**
 * Hostile inputs against the readers: time and peak RSS of loading ~8 MiB YAML files of tiny values (the value
 * limit), and of reading flow recordings of blank lines, garbage lines and a gzip bomb. Each case runs in its own
 * process so that peak RSS is its own. Baseline, measured in the same process on the same bytes: one pass that only
 * counts the lines (the least any line-oriented reader must do); the ratio is the reader's time over it. Prints
 * figures; asserts nothing.
 * `npm run bench -- hostile-input` (all cases) or `... hostile-input CASE`.
 */
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip, gzipSync } from 'node:zlib';
import { DEFAULT_LOAD_LIMITS, parsePolicyText } from '../pipeline/core/load/index.js';
import { FlowReader } from '../pipeline/flows/index.js';

const SIZE = 8 * 1024 * 1024 - 64;

const yamlCases: Record<string, () => string> = {
  'yaml-block-seq': () => '- 1\n'.repeat(SIZE / 4),
  'yaml-flow-seq': () => `[${'1,'.repeat(SIZE / 2 - 2)}1]\n`,
  'yaml-anchored-block-seq': () => `- &a 1\n${'- 1\n'.repeat(SIZE / 4 - 2)}`,
  'yaml-nested-seq': () => '- - 1\n'.repeat(Math.floor(SIZE / 6)),
};

const flowCases: Record<string, () => { data: Buffer; skipInvalid: boolean }> = {
  'flows-newlines': () => ({ data: Buffer.alloc(SIZE, 0x0a), skipInvalid: false }),
  'flows-garbage-skipped': () => ({ data: Buffer.from('x\n'.repeat(SIZE / 2)), skipInvalid: true }),
  // 16 gzip members of 64 MiB of newlines each (gunzip reads them as one stream): 1 GiB from about 1 MiB.
  'flows-gzip-bomb-1GiB': () => {
    const member = gzipSync(Buffer.alloc(64 << 20, 0x0a), { level: 9 });
    return { data: Buffer.concat(Array.from({ length: 16 }, () => member)), skipInvalid: false };
  },
};

/** The baseline: one pass counting newlines (through gunzip, streamed, for a gzip input), in ms. */
async function countLinesMs(data: Buffer | string): Promise<number> {
  const t0 = performance.now();
  const count = (bytes: Buffer): number => {
    let n = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) n++;
    return n;
  };
  let lines = 0;
  if (typeof data === 'string') lines = count(Buffer.from(data));
  else if (data[0] === 0x1f && data[1] === 0x8b) {
    for await (const chunk of Readable.from([data]).pipe(createGunzip()) as AsyncIterable<Buffer>) lines += count(chunk);
  } else lines = count(data);
  if (lines < 0) throw new Error('unreachable');
  return performance.now() - t0;
}

async function runCase(name: string): Promise<string> {
  const yaml = yamlCases[name];
  const input = yaml ? yaml() : flowCases[name]!();
  const baselineMs = await countLinesMs(typeof input === 'string' ? input : input.data);
  const t0 = performance.now();
  let outcome: string;
  if (typeof input === 'string') {
    const r = parsePolicyText({ path: 'big.yaml', text: input }, DEFAULT_LOAD_LIMITS);
    const d = r.diagnostics[0];
    outcome = d ? `${d.code} at ${d.pos?.line}:${d.pos?.col}` : `${r.documents.length} documents`;
  } else {
    const { data, skipInvalid } = input;
    const reader = new FlowReader(['-'], { stdin: Readable.from([data]), skipInvalid });
    let flows = 0;
    try {
      for await (const batch of reader.batches()) flows += batch.length;
      outcome = `${flows} flows, ${reader.stats.lines} lines, ${reader.stats.blank} blank, ${reader.stats.invalid} invalid`;
    } catch (err) {
      outcome = `${(err as { code?: string }).code}`;
    }
  }
  const ms = performance.now() - t0;
  const ratio = `${(ms / Math.max(baselineMs, 0.001)).toFixed(1)}x`;
  return `${name.padEnd(26)} ${(ms / 1000).toFixed(1).padStart(6)} s  line-count baseline ${(baselineMs / 1000).toFixed(2).padStart(5)} s  ${ratio.padStart(7)}  peak RSS ${String(Math.round(process.resourceUsage().maxRSS / 1024)).padStart(5)} MiB  ${outcome}`;
}

const only = process.argv[2];
if (only) {
  if (!(only in yamlCases) && !(only in flowCases)) {
    console.error(`unknown case '${only}': ${[...Object.keys(yamlCases), ...Object.keys(flowCases)].join(', ')}`);
    process.exit(2);
  }
  console.log(await runCase(only));
} else {
  for (const name of [...Object.keys(yamlCases), ...Object.keys(flowCases)]) {
    spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { stdio: 'inherit' });
  }
}
