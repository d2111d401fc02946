/**
 * Agent benchmark (`npm run bench -- agent`, root and BPF): the apply cycle on this kernel (the real datapath, 100
 * local endpoints on veth interfaces, ~10,000 policy entries), then an idle agent process.
 * - bundle published → enforced: p50/p99 over 20 bundles (bake 0), each step's share; the floor is fetch + verify
 *   alone. The agent notices a new bundle within its poll interval (default 5 s, or at once through palisade serve's
 *   long poll), which comes on top.
 * - automatic rollback: the bake's health check fails → the old generation is active again (the switch back).
 * - idle `palisade-agent run`: CPU % over 60 s and RSS.
 * Asserts nothing; cleans up its interfaces, pins and processes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE_ENGINES, composeBundle } from '../pipeline/bundle-build/index.js';
import { BundleGate, PALISADE_ABI_VERSION, generateSigningKeyPem, parsePublicKey, parseSigningKey, trustOfKey } from '../pipeline/core/bundle/index.js';
import { loadPolicyModel } from '../pipeline/core/policy/index.js';
import { FsBundleStore } from '../pipeline/stores/index.js';
import { applyBundle } from '../node-agent/agent/apply.js';
import type { CycleDeps } from '../node-agent/agent/cycle.js';
import { KernelAgentDatapath } from '../node-agent/agent/kernel-datapath.js';
import { memoryLog } from '../node-agent/agent/log.js';
import type { AgentState, ApplyStep } from '../node-agent/agent/types.js';
import { initialAgentState } from '../node-agent/agent/types.js';
import { openDatapath } from '../node-agent/datapath/index.js';
import type { PodEndpoint } from '../node-agent/discovery/index.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const OBJECT = join(ROOT, 'bpf', 'build', 'palisade.bpf.o');
const ENDPOINTS = 100;
const PEERS = 10;
const PORTS = 10;
const BUNDLES = 20;
const IDLE_SECONDS = 60;
const PIN_DIR = '/sys/fs/bpf/pld-bench-agent';
const work = mkdtempSync(join(tmpdir(), 'pld-bench-agent-'));
const ifname = (i: number): string => `pldb${i}`;

/** 100 apps; app i accepts its 10 next apps on 10 ports (+ `shift`, so bundles differ): 100 entries per endpoint. */
function policies(shift: number): string {
  const docs: string[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    const peers = Array.from({ length: PEERS }, (_, k) => `app${(i + k + 1) % ENDPOINTS}`);
    const ports = Array.from({ length: PORTS }, (_, k) => `{port: "${8000 + k + shift}", protocol: TCP}`).join(', ');
    docs.push(`apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: app${i}, namespace: bench}\nspec:\n  endpointSelector: {matchLabels: {app: app${i}}}\n  ingress:\n  - fromEndpoints: [{matchExpressions: [{key: app, operator: In, values: [${peers.join(', ')}]}]}]\n    toPorts: [{ports: [${ports}]}]\n`);
  }
  return docs.join('---\n');
}

const pem = generateSigningKeyPem();
const key = parseSigningKey(pem.privatePem, 'bench');
const trust = { trust: trustOfKey(parsePublicKey(pem.publicPem, 'bench.pub')), root: null };
const bpfObject = new Uint8Array(readFileSync(OBJECT));
function bundle(serial: number): Uint8Array {
  const { model } = loadPolicyModel([{ path: 'policies.yaml', text: policies(serial % 5) }]);
  const now = Date.now();
  return composeBundle({ model, recordedFlows: [], bpfObject, manifest: { serial, source: { repository: 'bench', commit: `c${serial}` }, createdAt: new Date(now - 60_000), expiresAt: new Date(now + 86_400_000), abiVersion: PALISADE_ABI_VERSION }, keys: [key], engines: REFERENCE_ENGINES }).bytes;
}

const pods: PodEndpoint[] = Array.from({ length: ENDPOINTS }, (_, i) => ({ namespace: 'bench', name: `pod${i}`, labels: { app: `app${i}` }, namespaceLabels: {}, ips: [`10.77.${i >> 8}.${(i & 255) + 1}`], interface: ifname(i) }));

function sh(...args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' });
}
function quiet(...args: string[]): void {
  try {
    sh(...args);
  } catch {
    // already gone
  }
}
function cleanup(): void {
  for (let i = 0; i < ENDPOINTS; i++) quiet('ip', 'link', 'del', ifname(i));
  for (const d of [PIN_DIR, `${PIN_DIR}-probe`, `${PIN_DIR}-selftest`, `${PIN_DIR}-idle`, `${PIN_DIR}-idle-probe`, `${PIN_DIR}-idle-selftest`]) quiet('rm', '-rf', d);
  rmSync(work, { recursive: true, force: true });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the agent benchmark needs root and BPF (it loads the datapath)');
  for (let i = 0; i < ENDPOINTS; i++) {
    quiet('ip', 'link', 'del', ifname(i));
    sh('ip', 'link', 'add', ifname(i), 'type', 'veth', 'peer', 'name', `${ifname(i)}p`);
    sh('ip', 'link', 'set', ifname(i), 'up');
  }
  const store = new FsBundleStore(join(work, 'store'));
  const loaded = openDatapath({ objectPath: OBJECT, pinDir: PIN_DIR });
  const datapath = new KernelAgentDatapath(loaded, { objectPath: OBJECT, pinDir: PIN_DIR, log: memoryLog() });
  const steps = new Map<ApplyStep, number[]>();
  let failHealth = false;
  let healthFailedAt = 0;
  let reactivatedAt = 0;
  const activate = datapath.activate.bind(datapath);
  datapath.activate = (...args: Parameters<typeof activate>) => {
    const r = activate(...args);
    if (healthFailedAt && !reactivatedAt) reactivatedAt = performance.now();
    return r;
  };
  const bake = {
    durationMs: 0,
    intervalMs: 1,
    health: async (): Promise<string | null> => {
      if (!failHealth) return null;
      healthFailedAt = performance.now();
      return 'bench: health check fails on purpose';
    },
  };
  const deps: CycleDeps = {
    store,
    datapath,
    persistence: { saveTrusted: async () => undefined, saveEnforced: async () => undefined, saveRejection: async () => undefined, saveRollback: async () => undefined },
    clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    trust,
    endpoints: () => ({ pods }),
    bake,
    log: memoryLog(),
    observer: { step: (s, sec) => (steps.get(s) ?? steps.set(s, []).get(s)!).push(sec * 1000) },
  };
  let state: AgentState = initialAgentState();
  const totals: number[] = [];
  const floors: number[] = [];
  let entries = 0;
  try {
    for (let serial = 1; serial <= BUNDLES + 1; serial++) {
      const bytes = bundle(serial);
      const published = performance.now();
      const d = await store.publish({ serial, bytes });
      const r = await applyBundle(deps, state, d);
      const ms = performance.now() - published;
      if (r.outcome.kind !== 'committed') throw new Error(`serial ${serial}: ${JSON.stringify(r.outcome)}`);
      state = r.state;
      entries = state.enforcedTables?.pressure.reduce((n, p) => n + p.entries, 0) ?? 0;
      // Floor: the same bundle fetched and verified by a fresh gate, nothing else.
      const f0 = performance.now();
      await new BundleGate({ trust: trust.trust }, { clock: () => new Date() }).admit([await store.get(d.digest)]);
      floors.push(performance.now() - f0);
      if (serial > 1) totals.push(ms); // the first apply also attaches every interface
    }
    // Automatic rollback: a bundle whose bake health check fails.
    bake.durationMs = 50;
    failHealth = true;
    const bad = await store.publish({ serial: BUNDLES + 2, bytes: bundle(BUNDLES + 2) });
    const r = await applyBundle(deps, state, bad);
    if (r.outcome.kind !== 'rolled-back') throw new Error(`expected a rollback, got ${r.outcome.kind}`);
    const rollbackMs = reactivatedAt - healthFailedAt;
    loaded.close();

    // An idle agent process with a committed bundle, measured for 60 s.
    const stateDir = join(work, 'idle-state');
    writeFileSync(join(work, 'key.pub'), pem.publicPem);
    writeFileSync(join(work, 'endpoints.json'), JSON.stringify({ pods }));
    const agent = spawn(join(ROOT, 'bin', 'palisade-agent'), ['run', '--store', join(work, 'store'), '--trust', join(work, 'key.pub'), '--endpoints', join(work, 'endpoints.json'), '--state-dir', stateDir, '--pin-dir', `${PIN_DIR}-idle`, '--object', OBJECT, '--bake', '0', '--node', 'bench'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const deadline = Date.now() + 120_000;
    while (!/committed serial/.test(log)) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error(`the idle agent did not commit: ${log.slice(-500)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    await new Promise((res) => setTimeout(res, 2_000));
    const ticks = (): number => {
      const f = readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
    };
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const c0 = ticks();
    await new Promise((res) => setTimeout(res, IDLE_SECONDS * 1000));
    const cpuPct = ((ticks() - c0) / hz / IDLE_SECONDS) * 100;
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1]);
    agent.kill('SIGTERM');
    await new Promise((res) => agent.once('exit', res));

    const share = [...steps].map(([s, xs]) => [s, xs.slice(1, BUNDLES + 1).reduce((a, b) => a + b, 0) / Math.max(1, xs.length - 1)] as const);
    const sum = share.reduce((a, [, x]) => a + x, 0);
    console.log(`datapath: this kernel, ${ENDPOINTS} local endpoints on veth interfaces, ${entries} policy entries; bake 0`);
    console.log(`bundle published -> enforced (${totals.length} bundles): p50 ${pct(totals, 50).toFixed(0)} ms, p99 ${pct(totals, 99).toFixed(0)} ms (goal p99 < 1000 ms)`);
    console.log(`floor (fetch + verify alone):          p50 ${pct(floors, 50).toFixed(1)} ms, p99 ${pct(floors, 99).toFixed(1)} ms; p50 ratio ${(pct(totals, 50) / pct(floors, 50)).toFixed(1)}x`);
    console.log(`step shares (mean ms): ${share.map(([s, x]) => `${s} ${x.toFixed(1)} (${((x / sum) * 100).toFixed(0)}%)`).join(', ')}`);
    console.log(`automatic rollback: health check failed -> old generation active  ${rollbackMs.toFixed(2)} ms (goal < 10 ms)`);
    console.log(`idle palisade-agent run: CPU ${cpuPct.toFixed(2)}% over ${IDLE_SECONDS} s (goal < 1%), RSS ${(rssKb / 1024).toFixed(0)} MiB`);
  } finally {
    try {
      loaded.close();
    } catch {
      // closed above
    }
  }
}

try {
  await main();
} finally {
  cleanup();
}
