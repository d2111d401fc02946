/**
 * `validate` throughput: 10,000 generated policies (CNP with L3/L4/L7, CCNP, NetworkPolicy; 2,000 files of five
 * documents) read and validated end to end (read files → parse → validate → build the model), against the floor:
 * reading the same files and a bare YAML parse (`parseAllDocuments` + `toJS`). Medians of several runs; prints
 * policies/s and the ratio (goal: within 2x of the bare parse, under 2 s). Asserts nothing.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadPolicyModel } from '../pipeline/core/policy/index.js';
import { readPolicyFiles } from '../pipeline/sources/index.js';
import { generatedPolicy } from './lib/validate-policies.js';

const POLICIES = 10_000;
const PER_FILE = 5;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-validate-'));
try {
  for (let f = 0; f < POLICIES / PER_FILE; f++) {
    const sub = path.join(dir, `ns-${f % 20}`);
    mkdirSync(sub, { recursive: true });
    const docs: string[] = [];
    for (let k = 0; k < PER_FILE; k++) docs.push(generatedPolicy(f * PER_FILE + k));
    writeFileSync(path.join(sub, `policies-${f}.yaml`), docs.join('---\n'));
  }

  // Wall time and CPU time (user + system) of this process: CPU time is steadier on a shared machine.
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const bareCpu: number[] = [];
  const fullCpu: number[] = [];
  const bareRun = (): number => {
    const c0 = cpuMs();
    const t0 = performance.now();
    let n = 0;
    for (const sub of readdirSync(dir).sort()) {
      for (const name of readdirSync(path.join(dir, sub)).sort()) {
        const text = readFileSync(path.join(dir, sub, name), 'utf8');
        for (const d of parseAllDocuments(text)) if ((d as { toJS(): unknown }).toJS()) n++;
      }
    }
    if (n !== POLICIES) throw new Error(`bare parse saw ${n} documents`);
    bareCpu.push(cpuMs() - c0);
    return performance.now() - t0;
  };
  const fullRun = async (): Promise<number> => {
    const c0 = cpuMs();
    const t0 = performance.now();
    const read = await readPolicyFiles(dir);
    const result = loadPolicyModel(read.files);
    const ms = performance.now() - t0;
    fullCpu.push(cpuMs() - c0);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (result.stats.policies !== POLICIES || errors.length > 0) {
      throw new Error(`validate accepted ${result.stats.policies} policies with ${errors.length} errors: ${errors[0]?.message ?? ''}`);
    }
    return ms;
  };

  bareRun();
  await fullRun();
  bareCpu.length = 0;
  fullCpu.length = 0;
  const bare: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(bareRun());
    full.push(await fullRun());
  }
  const b = median(bare);
  const v = median(full);
  console.log(`${POLICIES} policies in ${POLICIES / PER_FILE} files (CNP L3/L4/L7, CCNP, NetworkPolicy)`);
  console.log(`bare YAML parse (read + parseAllDocuments + toJS)  median ${b.toFixed(0)} ms  ${(POLICIES / (b / 1000)).toFixed(0)} policies/s`);
  console.log(`validate end to end (read + load + validate + model) median ${v.toFixed(0)} ms  ${(POLICIES / (v / 1000)).toFixed(0)} policies/s`);
  console.log(`ratio ${(v / b).toFixed(2)}x the bare parse (goal <= 2x); total ${(v / 1000).toFixed(2)} s (goal < 2 s); ${RUNS} runs each`);
  const bc = median(bareCpu);
  const vc = median(fullCpu);
  console.log(`CPU time (user+sys): bare ${bc.toFixed(0)} ms, validate ${vc.toFixed(0)} ms, ratio ${(vc / bc).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
