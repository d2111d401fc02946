/**
 * The rollout controller over the embedded backend (a real filesystem store: bundles and records) with simulated
 * agents that follow their target records and report through status records: a good bundle wave by wave, a bad one
 * stopped on the canary and sent back with a real rollback bundle that the agents' gate accepts, a restarted
 * controller and two controllers at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleGate, verifyBundle } from '../../pipeline/core/bundle/index.js';
import {
  nodeStatusRecord,
  nodeTargetRecord,
  parseNodeTarget,
  readFleet,
  rollbackMaker,
  RolloutController,
  ROLLOUT_RECORD,
  type BundleRef,
  type NodePhase,
  type RolloutSpec,
  type RolloutState,
} from '../../pipeline/rollout/index.js';
import { FsBundleStore, FsRecordStore, OciBundleStore, OciRecordStore, type BundleStore, type RecordStore, type UnlistedBundleStore } from '../../pipeline/stores/index.js';
import { useRegistry } from '../stores/helpers.js';
import { bundle, newKey, T0, trustOf } from '../bundle/fixtures.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const key = newKey();
const trust = trustOf([key], 1);
const spec: RolloutSpec = {
  waves: [
    { name: 'canary', select: { kind: 'labels', matchLabels: { canary: 'true' } }, bakeMs: 10_000, mode: 'enforce' },
    { name: 'half', select: { kind: 'percent', percent: 50 }, bakeMs: 10_000, mode: 'enforce' },
    { name: 'all', select: { kind: 'percent', percent: 100 }, bakeMs: 10_000, mode: 'enforce' },
  ],
  gates: { reportTimeoutMs: 60_000, metrics: [] },
};
const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];

/**
 * A store (a directory unless `open` gives another), a clock, agents that apply a target one tick after seeing it
 * (or fail on the digests in `bad`).
 */
function world(open?: () => { bundles: BundleStore & UnlistedBundleStore; records: RecordStore }) {
  const dir = mkdtempSync(join(tmpdir(), 'pld-rollout-'));
  dirs.push(dir);
  const { bundles, records } = open ? open() : { bundles: new FsBundleStore(dir), records: new FsRecordStore(dir) };
  let now = T0.getTime() + 3_600_000;
  const bad = new Set<string>();
  const running = new Map<string, { bundle: BundleRef | null; phase: NodePhase; seenAt: number }>();
  const everRan = new Map<string, Set<number>>();
  const log: string[] = [];
  const deps = {
    bundles,
    records,
    spec,
    now: () => now,
    log: (l: string) => void log.push(l),
    makeRollback: rollbackMaker({ bundles, trust, keys: [key], now: () => now }),
  };
  async function agentsReport(): Promise<void> {
    for (const node of NODES) {
      const rec = await records.getRecord(nodeTargetRecord(node));
      const target = rec ? parseNodeTarget(rec.value) : undefined;
      let cur = running.get(node) ?? { bundle: null, phase: 'active' as NodePhase, seenAt: now };
      const want = target?.bundle ?? null;
      if (want && cur.phase === 'applying' && cur.bundle?.digest === want.digest) {
        // One tick after first sight: active, or rolled back by itself when the bundle is bad.
        cur = { bundle: want, phase: bad.has(want.digest) ? 'rolled-back' : 'active', seenAt: now };
      } else if (want && want.digest !== cur.bundle?.digest && !(cur.phase === 'rolled-back' && bad.has(want.digest))) {
        cur = { bundle: want, phase: 'applying', seenAt: now };
        (everRan.get(node) ?? everRan.set(node, new Set()).get(node)!).add(want.serial);
      }
      running.set(node, cur);
      const status = { bundle: cur.bundle, phase: cur.phase, mode: 'enforce', reportedAt: now, drops: 0, labels: node === 'node-a' ? { canary: 'true' } : {}, ...(cur.phase === 'rolled-back' ? { reason: { code: 'bake-failed', message: 'health check failed' } } : {}) };
      const prev = await records.getRecord(nodeStatusRecord(node));
      await records.putRecord(nodeStatusRecord(node), status, prev?.version ?? null);
    }
  }
  async function publish(serial: number, variant: string): Promise<BundleRef> {
    const d = await bundles.publish({ serial, bytes: bundle(serial, [key], { expiresAt: new Date(T0.getTime() + 30 * 86_400_000) }, variant) });
    return { serial: d.serial, digest: d.digest };
  }
  async function targets(): Promise<Record<string, number | null>> {
    const out: Record<string, number | null> = {};
    for (const node of NODES) {
      const rec = await records.getRecord(nodeTargetRecord(node));
      out[node] = rec ? (parseNodeTarget(rec.value)?.bundle?.serial ?? null) : null;
    }
    return out;
  }
  /** Runs `rounds` of: agents report, then the controller(s) tick, 5 s apart. */
  async function run(rounds: number, controllers: () => RolloutController[]): Promise<RolloutState | undefined> {
    let state: RolloutState | undefined;
    for (let i = 0; i < rounds; i++) {
      await agentsReport();
      const results = await Promise.all(controllers().map((c) => c.tick()));
      state = results.find((r) => !r.conflicted)?.state ?? results[0]!.state;
      now += 5_000;
    }
    return state;
  }
  const advance = (ms: number): void => {
    now += ms;
  };
  return { dir, bundles, records, deps, bad, everRan, log, publish, targets, run, agentsReport, advance };
}

/** The first rollout (serial 1) completed everywhere. */
async function expectCompleted(w: ReturnType<typeof world>, state: RolloutState | undefined): Promise<void> {
  expect(state?.phase).toBe('completed');
  expect(state?.promoted).toEqual([0, 1, 2]);
  expect(Object.values(await w.targets())).toEqual([1, 1, 1, 1, 1]);
}

describe('rollout controller (embedded backend)', () => {
  it('a good bundle goes wave by wave; a bad one stops on the canary, which is sent back with a rollback bundle its gate accepts', async () => {
    const w = world();
    const controller = new RolloutController(w.deps);
    await w.agentsReport();
    await w.publish(1, 'a');
    let state = await w.run(2, () => [controller]);
    expect(state?.wave).toBe(0);
    expect(await w.targets()).toEqual({ 'node-a': 1, 'node-b': null, 'node-c': null, 'node-d': null, 'node-e': null });
    state = await w.run(20, () => [controller]);
    await expectCompleted(w, state);
    const badRef = await w.publish(2, 'b');
    w.bad.add(badRef.digest);
    state = await w.run(6, () => [controller]);
    expect(state?.phase).toBe('aborted');
    expect(state?.reason).toBe('node node-a rolled back bundle serial 2: health check failed [bake-failed]');
    expect(state?.blastRadius?.nodes).toEqual(['node-a']);
    const rollback = state!.rollbackBundle!;
    expect(rollback.serial).toBe(1);
    // The canary is sent to the rollback bundle; nobody else was ever told to run serial 2.
    expect(await w.targets()).toEqual({ 'node-a': 1, 'node-b': 1, 'node-c': 1, 'node-d': 1, 'node-e': 1 });
    const canaryTarget = parseNodeTarget((await w.records.getRecord(nodeTargetRecord('node-a')))!.value)!;
    expect(canaryTarget.bundle).toEqual(rollback);
    for (const node of NODES.slice(1)) expect(w.everRan.get(node)).toEqual(new Set([1]));
    // The canary's gate, having accepted serial 2, takes the rollback bundle and then refuses serial 2.
    const gate = new BundleGate({ trust }, { clock: () => new Date(w.deps.now()) });
    await gate.admit([await w.bundles.get((await w.bundles.list())[0]!.digest)]);
    await gate.admit([await w.bundles.get(badRef.digest)]);
    const rb = await gate.admit([await w.bundles.get(rollback.digest)]);
    expect(rb.manifest).toMatchObject({ serial: 1, rollbackOf: 2 });
    expect((await w.bundles.latest())?.serial).toBe(2);

    // The fix: serial 3 rolls out everywhere.
    await w.publish(3, 'c');
    state = await w.run(25, () => [controller]);
    expect(state?.phase).toBe('completed');
    expect(state?.stable?.serial).toBe(1);
    expect(Object.values(await w.targets())).toEqual([3, 3, 3, 3, 3]);
    expect(w.log.some((l) => /ABORTED: node node-a rolled back/.test(l))).toBe(true);
  }, 60_000);

  it('a controller restarted before every tick, and two controllers at once, reach the same end without promoting twice', async () => {
    for (const mode of ['restarted', 'two at once'] as const) {
      const w = world();
      await w.agentsReport();
      await w.publish(1, 'a');
      const make = (): RolloutController => new RolloutController(w.deps);
      const pair = [make(), make()];
      const state = await w.run(25, () => (mode === 'restarted' ? [make()] : pair));
      expect(state?.phase, mode).toBe('completed');
      expect(state?.promoted, mode).toEqual([0, 1, 2]);
      const stored = (await w.records.getRecord(ROLLOUT_RECORD))!.value as RolloutState;
      expect(stored.promoted).toEqual([0, 1, 2]);
      expect(Object.values(await w.targets())).toEqual([1, 1, 1, 1, 1]);
    }
  }, 60_000);

  it('a malformed status record counts as a node that has not reported', async () => {
    const w = world();
    await w.records.putRecord(nodeStatusRecord('node-x'), { phase: 'active', bundle: 'sha256:nope', labels: { canary: 'true' } }, null);
    await w.records.putRecord(nodeStatusRecord('node-y'), { bundle: null, phase: 'active', mode: 'enforce', reportedAt: 1, drops: 0, labels: {} }, null);
    const view = await readFleet(w.records);
    expect(view.fleet.map((n) => n.name)).toEqual(['node-y']);
    expect(() => new RolloutController({ ...w.deps, spec: { ...spec, gates: { ...spec.gates, metrics: [{ name: 'm', query: 'up', successCondition: { op: '>', threshold: 0 }, intervalMs: 1, count: 1, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 }] } } })).toThrowError(/Prometheus/);
    expect(await verifyBundle(bundle(1, [key]), { trust, now: new Date(T0.getTime() + 1000) })).toBeTruthy();
  });
});

describe('rollout controller on an OCI registry (the real docker-registry; records verified, not atomic)', () => {
  const registry = useRegistry();
  const oci = (repo: string, writer: string) => () => ({
    bundles: new OciBundleStore(`http://${registry().host}`, repo),
    records: new OciRecordStore(`http://${registry().host}`, repo, { writer }),
  });

  it('rolls a good bundle out wave by wave and stops a bad one on the canary, rollback bundle kept in the registry', async () => {
    const w = world(oci('palisade/rollout', 'controller'));
    const controller = new RolloutController({ ...w.deps, id: 'controller-1' });
    await w.agentsReport();
    await w.publish(1, 'a');
    let state = await w.run(22, () => [controller]);
    await expectCompleted(w, state);
    const badRef = await w.publish(2, 'b');
    w.bad.add(badRef.digest);
    state = await w.run(6, () => [controller]);
    expect(state?.phase).toBe('aborted');
    expect(state?.blastRadius?.nodes).toEqual(['node-a']);
    const rollback = state!.rollbackBundle!;
    expect(parseNodeTarget((await w.records.getRecord(nodeTargetRecord('node-a')))!.value)!.bundle).toEqual(rollback);
    // The rollback bundle is in the registry by digest, and neither listed nor latest.
    expect((await w.bundles.get(rollback.digest)).byteLength).toBe(rollback.size);
    expect((await w.bundles.list()).map((d) => d.serial)).toEqual([1, 2]);
    expect((await w.bundles.latest())?.serial).toBe(2);
    for (const node of NODES.slice(1)) expect(w.everRan.get(node)).toEqual(new Set([1]));
  }, 120_000);

  it('a second controller stands down while the first beats, says why, and takes over once the beat stops', async () => {
    const w = world(oci('palisade/two-controllers', 'w'));
    const logA: string[] = [];
    const logB: string[] = [];
    const a = new RolloutController({ ...w.deps, id: 'controller-a', log: (l) => void logA.push(l) });
    const b = new RolloutController({ ...w.deps, id: 'controller-b', log: (l) => void logB.push(l) });
    await w.agentsReport();
    await w.publish(1, 'a');
    expect((await a.tick()).stoodDown).toBeFalsy();
    const first = await b.tick();
    expect(first.stoodDown).toBe(true);
    expect(logB.join('\n')).toMatch(/another controller \(controller-a\) is beating.*standing down.*run one/);
    for (let i = 0; i < 4; i++) {
      await w.run(1, () => [a]);
      expect((await b.tick()).stoodDown).toBe(true);
    }
    // A stops. B sees A's last beat unchanged; after three of A's 2 s intervals on B's own clock, B takes over.
    w.advance(5_000);
    expect((await b.tick()).stoodDown).toBe(true);
    w.advance(5_000);
    const taken = await b.tick();
    expect(taken.stoodDown).toBeFalsy();
    expect(taken.state?.bundle.serial).toBe(1);
    expect(logB.join('\n')).toMatch(/controller controller-a stopped beating 10 s ago; taking over/);
    // A comes back: now it is the one that stands down.
    expect((await a.tick()).stoodDown).toBe(true);
    expect(logA.join('\n')).toMatch(/another controller \(controller-b\)/);
  }, 120_000);
});
