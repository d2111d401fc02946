/**
 * `simulate` throughput: 1,000,000 generated Hubble flows (about 1 KB each, written to a temporary file) judged by
 * the reference engine under 1,000 policies over 5,000 endpoints, end to end (stream the file → parse → normalise →
 * judge → jsonl, discarded), against the floor: reading the same file line by line with readline and `JSON.parse`
 * of each line. Medians of several runs; prints flows/s by wall clock and per CPU second (CPU time is the steadier
 * figure on a shared machine), the ratio to the floor (goal: at least 0.5) and the RSS
 * sampled every 10% of the flows (with the JS heap in use), to show memory does not grow with the number of flows. Asserts nothing.
 *
 * Options: --flows N (default 1,000,000), --runs N (default 3), --keep (leave the generated file).
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { loadPolicyModel } from '../pipeline/core/policy/index.js';
import type { PolicyFile } from '../pipeline/core/load/policy-file.js';
import type { Flow } from '../pipeline/core/flow/types.js';
import { FlowReader } from '../pipeline/flows/index.js';
import { referenceEngine, runSimulation, TextSink } from '../pipeline/simulate/index.js';
import { pods, policyYaml, writeFlowFile } from './lib/simulate-data.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const FLOWS = arg('flows', 1_000_000);
const RUNS = arg('runs', 3);
const KEEP = process.argv.includes('--keep');
const POLICIES = 1_000;

/** Wall time and CPU time (user + system, this process) of one pass, in ms. */
interface Timing {
  wall: number;
  cpu: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function floor(file: string): Promise<Timing> {
  const t0 = performance.now();
  const c0 = cpuMs();
  let n = 0;
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.length > 0) {
      JSON.parse(line);
      n++;
    }
  }
  if (n !== FLOWS) throw new Error(`floor read ${n} lines, expected ${FLOWS}`);
  return { wall: performance.now() - t0, cpu: cpuMs() - c0 };
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MiB`;

async function simulate(file: string, model: ReturnType<typeof loadPolicyModel>['model'], rssSamples: number[], heapSamples: number[]): Promise<Timing> {
  const discard = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const t0 = performance.now();
  const c0 = cpuMs();
  const reader = new FlowReader([file]);
  const step = Math.max(1, Math.floor(FLOWS / 10));
  let n = 0;
  let next = step;
  // Samples RSS as the flows go by, without adding a per-flow step.
  const sampled = {
    async *batches(): AsyncGenerator<readonly Flow[]> {
      for await (const batch of reader.batches()) {
        n += batch.length;
        if (n >= next) {
          rssSamples.push(process.memoryUsage.rss());
          heapSamples.push(process.memoryUsage().heapUsed);
          next += step;
        }
        yield batch;
      }
    },
    flows: () => reader.flows(),
  };
  const summary = await runSimulation(referenceEngine(model), sampled, 'jsonl', new TextSink(discard));
  const timing = { wall: performance.now() - t0, cpu: cpuMs() - c0 };
  if (summary.total !== FLOWS) throw new Error(`simulated ${summary.total} flows, expected ${FLOWS}`);
  return timing;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-simulate-'));
  const file = path.join(dir, 'flows.json');
  try {
    const files: PolicyFile[] = [];
    for (let i = 0; i < POLICIES; i += 10) {
      files.push({ path: `policies/p${i}.yaml`, text: Array.from({ length: 10 }, (_, j) => policyYaml(i + j)).join('---\n') });
    }
    const loaded = loadPolicyModel(files);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new Error(`generated policies have errors: ${errors[0]!.message}`);
    const tg = performance.now();
    await writeFlowFile(file, FLOWS);
    const size = statSync(file).size;
    console.log(
      `generated ${FLOWS.toLocaleString('en')} flows (${mib(size)}, ${(size / FLOWS).toFixed(0)} B/flow) in ${((performance.now() - tg) / 1000).toFixed(1)} s; ` +
        `${loaded.stats.policies} policies (${loaded.model.specs.length} specs), ${pods.length} endpoints`,
    );
    const floors: Timing[] = [];
    const sims: Timing[] = [];
    const rssBefore = process.memoryUsage.rss();
    let samples: number[] = [];
    let heap: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      floors.push(await floor(file));
      samples = [];
      heap = [];
      sims.push(await simulate(file, loaded.model, samples, heap));
      const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
      console.log(`  run ${r + 1}: floor ${sec(floors[r]!.wall)} (cpu ${sec(floors[r]!.cpu)}), simulate ${sec(sims[r]!.wall)} (cpu ${sec(sims[r]!.cpu)})`);
    }
    const f = median(floors.map((t) => t.wall));
    const s = median(sims.map((t) => t.wall));
    const fc = median(floors.map((t) => t.cpu));
    const sc = median(sims.map((t) => t.cpu));
    const rate = (ms: number): string => `${Math.round(FLOWS / (ms / 1000)).toLocaleString('en')} flows/s`;
    console.log(`floor (readline + JSON.parse): ${rate(f)} wall, ${rate(fc)} per CPU second  (median of ${RUNS})`);
    console.log(`simulate (reference, jsonl):   ${rate(s)} wall, ${rate(sc)} per CPU second  (median of ${RUNS})`);
    console.log(`speed relative to the floor: ${(f / s).toFixed(2)} wall, ${(fc / sc).toFixed(2)} CPU (goal >= 0.50)`);
    console.log(`RSS before the runs: ${mib(rssBefore)}; during the last run at every 10% of flows: ${samples.map(mib).join(', ')}`);
    console.log(`JS heap in use at the same points: ${heap.map(mib).join(', ')}`);
    if (samples.length >= 2) console.log(`RSS change from 10% to 100% of flows: ${mib(samples[samples.length - 1]! - samples[0]!)}`);
    if (samples.length >= 3) console.log(`RSS change from 20% to 100% of flows: ${mib(samples[samples.length - 1]! - samples[1]!)}`);
  } finally {
    if (KEEP) console.log(`kept ${file}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
