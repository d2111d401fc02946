/**
 * Rollout benchmark (`npm run bench -- rollout`): 100 agents, each the real apply cycle (fetch, verify with the
 * gate, compile against the live endpoints, stage, self-test, activate, bake, commit) over the table-lookup
 * datapath instead of a kernel, following their target records in one filesystem store, and the real rollout
 * controller with 3 waves (1%, 10%, 100%; wave bake 0 and agent bake 20 ms, so the machinery is what is timed). Prints: publish → every node
 * enforcing (wall time and controller ticks), first failure (the canary's bake fails) → every node it reached back on
 * a rollback bundle, and the controller's CPU time per node status it read. Baseline: one agent applying one bundle
 * alone, measured in the same run. Then the controller's fleet read (readFleet: every status and target) over
 * `palisade serve` (in-process, the same records): one request per record (the path for stores without a listing
 * with values, e.g. an OCI registry) against the paged listing with values; requests, wall time and CPU per read.
 * Asserts nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE_ENGINES, composeBundle } from '../pipeline/bundle-build/index.js';
import { PALISADE_ABI_VERSION, generateSigningKeyPem, parsePublicKey, parseSigningKey, trustOfKey } from '../pipeline/core/bundle/index.js';
import { loadPolicyModel } from '../pipeline/core/policy/index.js';
import { RolloutController, parseRolloutState, readFleet, ROLLOUT_RECORD, rollbackMaker, type RolloutSpec } from '../pipeline/rollout/index.js';
import { FsBundleStore, FsRecordStore, HttpRecordStore, readBundleSerial, startStoreServer, type RecordStore } from '../pipeline/stores/index.js';
import { applyBundle } from '../node-agent/agent/apply.js';
import type { CycleDeps } from '../node-agent/agent/cycle.js';
import { memoryLog } from '../node-agent/agent/log.js';
import { RolloutLink, statusFor, type NodeTargetView } from '../node-agent/agent/rollout-link.js';
import { TableDatapath } from '../node-agent/agent/table-datapath.js';
import type { AgentState } from '../node-agent/agent/types.js';
import { initialAgentState } from '../node-agent/agent/types.js';
import type { EndpointSet, PodEndpoint } from '../node-agent/discovery/index.js';

const AGENTS = 100;
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const POLICY = (extraPort: number): string => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "${extraPort}", protocol: TCP}]}]
`;

const work = mkdtempSync(join(tmpdir(), 'pld-bench-rollout-'));
const bundles = new FsBundleStore(join(work, 'store'));
const records = new FsRecordStore(join(work, 'store'));
const pem = generateSigningKeyPem();
const key = parseSigningKey(pem.privatePem, 'bench');
const trust = trustOfKey(parsePublicKey(pem.publicPem, 'bench.pub'));
const bpfObject = new Uint8Array(readFileSync(join(ROOT, 'bpf', 'build', 'palisade.bpf.o')));

const node = (i: number): string => `node-${String(i).padStart(3, '0')}`;
const pods: PodEndpoint[] = [];
for (let i = 0; i < AGENTS; i++) {
  pods.push({ namespace: 'shop', name: `web-${i}`, labels: { app: 'web' }, namespaceLabels: {}, ips: [`10.${i >> 8}.${i & 255}.1`] });
  pods.push({ namespace: 'shop', name: `api-${i}`, labels: { app: 'api' }, namespaceLabels: {}, ips: [`10.${i >> 8}.${i & 255}.2`] });
}
const endpointsOf = (i: number): EndpointSet => ({
  pods: pods.map((p) => (p.name === `web-${i}` || p.name === `api-${i}` ? { ...p, interface: `veth-${p.name}` } : p)).sort((a, b) => (a.name < b.name ? -1 : 1)),
});

function bundleBytes(serial: number, extraPort: number): Uint8Array {
  const { model } = loadPolicyModel([{ path: 'policies.yaml', text: POLICY(extraPort) }]);
  const now = Date.now();
  return composeBundle({
    model,
    recordedFlows: [],
    bpfObject,
    manifest: { serial, source: { repository: 'bench', commit: `c${serial}` }, createdAt: new Date(now - 60_000), expiresAt: new Date(now + 86_400_000), abiVersion: PALISADE_ABI_VERSION },
    keys: [key],
    engines: REFERENCE_ENGINES,
  }).bytes;
}

interface Agent {
  readonly link: RolloutLink;
  readonly deps: CycleDeps;
  state: AgentState;
  target: NodeTargetView | undefined;
}

let badDigest = '';
const fresh = (): AgentState => initialAgentState();
const agents: Agent[] = Array.from({ length: AGENTS }, (_, i) => {
  const endpoints = endpointsOf(i);
  const deps: CycleDeps = {
    store: bundles,
    datapath: new TableDatapath(),
    persistence: { saveTrusted: async () => undefined, saveEnforced: async () => undefined, saveRejection: async () => undefined, saveRollback: async () => undefined },
    clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    trust: { trust, root: null },
    endpoints: () => endpoints,
    // The canary's health check fails for the bad bundle: what a real health command would find.
    bake: { durationMs: 20, intervalMs: 10, health: async () => (i === 0 && agents[0]!.target?.descriptor?.digest === badDigest ? 'canary health check failed' : null) },
    log: memoryLog(),
  };
  return { link: new RolloutLink(records, node(i), i === 0 ? { role: 'canary' } : {}), deps, state: fresh(), target: undefined };
});

/** One round of every agent: read its target, apply it when new, report. */
async function agentsRound(): Promise<void> {
  await Promise.all(
    agents.map(async (a) => {
      a.target = await a.link.target();
      const want = a.target?.descriptor;
      if (want && want.digest !== a.state.enforced?.bundleDigest && !a.state.rejected.has(want.digest)) {
        a.state = (await applyBundle(a.deps, a.state, want)).state;
      }
      await a.link.report(statusFor(a.state, a.target, 0, Date.now()));
    }),
  );
}

const spec: RolloutSpec = {
  waves: [
    { name: 'canary', select: { kind: 'labels', matchLabels: { role: 'canary' } }, bakeMs: 0, mode: 'enforce' },
    { name: 'ten', select: { kind: 'percent', percent: 10 }, bakeMs: 0, mode: 'enforce' },
    { name: 'all', select: { kind: 'percent', percent: 100 }, bakeMs: 0, mode: 'enforce' },
  ],
  gates: { reportTimeoutMs: 600_000, metrics: [] },
};
let controllerCpuUs = 0;
let statusesRead = 0;
let ticks = 0;
const controller = new RolloutController({ bundles, records, spec, makeRollback: rollbackMaker({ bundles, trust, keys: [key], now: Date.now }), now: Date.now, log: () => undefined });
async function tick(): Promise<void> {
  const before = process.cpuUsage();
  await controller.tick();
  const used = process.cpuUsage(before);
  controllerCpuUs += used.user + used.system;
  statusesRead += AGENTS;
  ticks++;
}
const phase = async (): Promise<string | undefined> => parseRolloutState((await records.getRecord(ROLLOUT_RECORD))?.value)?.phase;

async function main(): Promise<void> {
  // Baseline: one agent applying one bundle, alone.
  const base = await bundles.publish({ serial: 1, bytes: bundleBytes(1, 9001) });
  const solo = { ...agents[0]!.deps, datapath: new TableDatapath() };
  const t0 = performance.now();
  await applyBundle(solo, fresh(), base);
  const soloMs = performance.now() - t0;
  await agentsRound();

  // A good bundle to 100 agents, wave by wave.
  const p0 = performance.now();
  for (let i = 0; ; i++) {
    await tick();
    await agentsRound();
    if ((await phase()) === 'completed' && agents.every((a) => a.state.enforced?.serial === 1)) break;
    if (i > 200) throw new Error('rollout did not complete');
  }
  const goodMs = performance.now() - p0;
  const goodTicks = ticks;

  // A bad bundle: the canary's bake fails; time from its failure report to every touched node on the rollback bundle.
  const bad = await bundles.publish({ serial: 2, bytes: bundleBytes(2, 9002) });
  badDigest = bad.digest;
  let failedAt = 0;
  for (let i = 0; ; i++) {
    await tick();
    await agentsRound();
    if (!failedAt && agents[0]!.state.rejected.has(bad.digest)) failedAt = performance.now();
    const s = parseRolloutState((await records.getRecord(ROLLOUT_RECORD))?.value);
    if (s?.phase === 'aborted' && s.rollbackBundle && agents[0]!.state.enforced?.bundleDigest === s.rollbackBundle.digest) break;
    if (i > 200) throw new Error(`abort did not complete: ${JSON.stringify({ phase: s?.phase, reason: s?.reason, rollback: s?.rollbackBundle, canary: agents[0]!.state.enforced?.bundleDigest, rejected: [...agents[0]!.state.rejected.values()].map((r) => [r.serial, r.code, r.message]) })}`);
  }
  const abortMs = performance.now() - failedAt;
  const touched = agents.filter((a) => a.state.rejected.has(bad.digest) || a.state.enforced?.serial === 2).length;

  console.log(`agents: ${AGENTS} (real apply cycle over the table datapath), waves 1% / 10% / 100%, wave bake 0, agent bake 20 ms`);
  console.log(`baseline: one agent applying one bundle alone  ${soloMs.toFixed(1)} ms`);
  console.log(`publish -> all ${AGENTS} agents enforcing        ${goodMs.toFixed(0)} ms (${goodTicks} controller ticks; ${(goodMs / soloMs).toFixed(1)}x the baseline)`);
  console.log(`canary failure -> fleet-wide abort complete  ${abortMs.toFixed(0)} ms (nodes that ever got the bad bundle: ${touched})`);
  console.log(`controller CPU per node status read          ${(controllerCpuUs / statusesRead).toFixed(1)} µs (${ticks} ticks, ${statusesRead} statuses)`);
  await fleetReadOverHttp();
}

/** readFleet over palisade serve: one request per record vs the listing with values (same store, same run). */
async function fleetReadOverHttp(): Promise<void> {
  const server = await startStoreServer({ store: bundles, readSerial: readBundleSerial, records }, '127.0.0.1', 0);
  try {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const paged = new HttpRecordStore(server.url, { fetch: counting });
    // The same client without the listing with values: what readFleet does on a store that has none.
    const perRecord: RecordStore = { location: paged.location, getRecord: (n, o) => paged.getRecord(n, o), putRecord: (n, v, e, o) => paged.putRecord(n, v, e, o), listRecords: (p, o) => paged.listRecords(p, o) };
    const ROUNDS = 20;
    const measure = async (store: RecordStore): Promise<{ requests: number; ms: number; cpuUs: number; nodes: number }> => {
      await readFleet(store);
      requests = 0;
      const cpu = process.cpuUsage();
      const t = performance.now();
      let nodes = 0;
      for (let i = 0; i < ROUNDS; i++) nodes = (await readFleet(store)).statuses.size;
      const used = process.cpuUsage(cpu);
      return { requests: requests / ROUNDS, ms: (performance.now() - t) / ROUNDS, cpuUs: (used.user + used.system) / ROUNDS, nodes };
    };
    const one = await measure(perRecord);
    const listed = await measure(paged);
    const line = (label: string, m: typeof one): string => `${label} ${String(m.requests).padStart(4)} requests, ${m.ms.toFixed(1).padStart(6)} ms, CPU ${(m.cpuUs / 1000).toFixed(1)} ms (client and server) per read of ${m.nodes} nodes`;
    console.log(line('fleet read over palisade serve, per record:  ', one));
    console.log(line('fleet read over palisade serve, with values: ', listed));
    console.log(`  ratio per record / with values: ${(one.requests / listed.requests).toFixed(0)}x requests, ${(one.ms / listed.ms).toFixed(1)}x time`);
  } finally {
    await server.close(1_000);
  }
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
