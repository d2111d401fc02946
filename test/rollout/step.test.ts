/** The rollout's decisions: waves, bake, node and metric gates, abort and blast radius, supersede, operator commands. */
import { describe, expect, it } from 'vitest';
import {
  abort,
  desiredTargets,
  pause,
  promote,
  resume,
  RolloutError,
  startRollout,
  step,
  type Measurement,
  type NodeReport,
  type RolloutSpec,
  type RolloutState,
} from '../../pipeline/rollout/index.js';
import { allActive, fleetOf, NEWER, NEXT, report, STABLE, threeWaves } from './fleet.js';

const T0 = 1_800_000_000_000;
const fleet = fleetOf(10);

/** Previous rollout that completed with STABLE. */
function completedStable(spec: RolloutSpec): RolloutState {
  const { state } = startRollout(STABLE, spec, fleet, null, T0 - 1e6);
  return { ...state, phase: 'completed', wave: spec.waves.length, reached: {} };
}

function targetNodes(state: RolloutState, spec: RolloutSpec, serial: number): string[] {
  return [...desiredTargets(state, spec, fleet)].filter(([, t]) => t.bundle?.serial === serial).map(([n]) => n).sort();
}

describe('a good bundle goes wave by wave', () => {
  it('reaches the canary, bakes, promotes each wave only after its bake, then completes everywhere', () => {
    const spec = threeWaves();
    const start = startRollout(NEXT, spec, fleet, completedStable(spec), T0);
    let s = start.state;
    expect(start.events).toEqual([{ kind: 'wave-started', wave: 0, nodes: ['node-0'] }]);
    expect(targetNodes(s, spec, NEXT.serial)).toEqual(['node-0']);
    expect(targetNodes(s, spec, STABLE.serial)).toHaveLength(9);

    // The canary has not applied yet: nothing is promoted however long we wait (within the report timeout).
    let r = step(s, { spec, fleet, reports: new Map([['node-0', report('node-0', STABLE, T0 + 5_000)]]), now: T0 + 100_000 });
    expect(r.state.wave).toBe(0);
    expect(r.state.waveHealthyAt).toBeNull();
    s = r.state;

    // Active at T0+110s: the bake starts then, not at the wave's start.
    r = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 110_000), now: T0 + 110_000 });
    expect(r.events).toEqual([{ kind: 'wave-healthy', wave: 0 }]);
    s = r.state;
    r = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 160_000), now: T0 + 169_999 });
    expect(r.state.wave).toBe(0);
    s = r.state;
    r = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 170_000), now: T0 + 170_000 });
    expect(r.events).toEqual([
      { kind: 'wave-promoted', wave: 0, by: 'gates' },
      { kind: 'wave-started', wave: 1, nodes: ['node-1', 'node-2', 'node-3', 'node-4'] },
    ]);
    s = r.state;
    expect(targetNodes(s, spec, NEXT.serial)).toEqual(['node-0', 'node-1', 'node-2', 'node-3', 'node-4']);

    const half = ['node-0', 'node-1', 'node-2', 'node-3', 'node-4'];
    r = step(s, { spec, fleet, reports: allActive(half, NEXT, T0 + 180_000), now: T0 + 180_000 });
    s = r.state;
    r = step(s, { spec, fleet, reports: allActive(half, NEXT, T0 + 210_000), now: T0 + 210_000 });
    expect(r.state.wave).toBe(2);
    s = r.state;
    const all = fleet.map((n) => n.name);
    r = step(s, { spec, fleet, reports: allActive(all, NEXT, T0 + 220_000), now: T0 + 220_000 });
    s = r.state;
    r = step(s, { spec, fleet, reports: allActive(all, NEXT, T0 + 250_000), now: T0 + 250_000 });
    expect(r.state.phase).toBe('completed');
    expect(r.state.promoted).toEqual([0, 1, 2]);
    expect(targetNodes(r.state, spec, NEXT.serial)).toEqual(all.sort());
    // Ended: further steps change nothing.
    expect(step(r.state, { spec, fleet, reports: new Map(), now: T0 + 1e9 }).state).toBe(r.state);
  });

  it('a restarted controller (state through JSON between every step) decides exactly the same, and never promotes twice', () => {
    const spec = threeWaves();
    const all = fleet.map((n) => n.name);
    const run = (roundTrip: boolean): RolloutState[] => {
      let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
      const seen: RolloutState[] = [];
      for (let t = T0; t <= T0 + 400_000; t += 5_000) {
        // The same step twice (a controller that crashed after deciding but before storing retries it).
        for (let i = 0; i < 2; i++) {
          s = step(s, { spec, fleet, reports: allActive(all, NEXT, t), now: t }).state;
          if (roundTrip) s = JSON.parse(JSON.stringify(s)) as RolloutState;
        }
        seen.push(s);
      }
      return seen;
    };
    const plain = run(false);
    const restarted = run(true);
    expect(restarted).toEqual(plain);
    expect(plain.at(-1)!.phase).toBe('completed');
    expect(plain.at(-1)!.promoted).toEqual([0, 1, 2]);
  });
});

describe('a bad bundle is stopped where it is', () => {
  it('the canary rolls back by itself: abort, blast radius = the canary, every node back to stable, no other node ever targeted', () => {
    const spec = threeWaves();
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const everTargeted = new Set(targetNodes(s, spec, NEXT.serial));
    s = step(s, { spec, fleet, reports: new Map([['node-0', report('node-0', NEXT, T0 + 20_000, 'baking', { drops: 17 })]]), now: T0 + 20_000 }).state;
    targetNodes(s, spec, NEXT.serial).forEach((n) => everTargeted.add(n));
    const rolledBack = report('node-0', NEXT, T0 + 40_000, 'rolled-back', { drops: 42, reason: { code: 'bake-health-failed', message: 'health command exited 1' } });
    const r = step(s, { spec, fleet, reports: new Map([['node-0', rolledBack]]), now: T0 + 41_000 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toBe('node node-0 rolled back bundle serial 5: health command exited 1 [bake-health-failed]');
    expect(r.state.blastRadius).toEqual({ nodes: ['node-0'], exposedMs: 41_000, drops: 42 });
    expect(r.events.at(-1)).toMatchObject({ kind: 'aborted' });
    expect(targetNodes(r.state, spec, NEXT.serial)).toEqual([]);
    // Untouched nodes stay on stable; the canary waits for the rollback bundle (its gate refuses stable's older serial).
    expect(targetNodes(r.state, spec, STABLE.serial)).toHaveLength(9);
    expect(desiredTargets(r.state, spec, fleet).has('node-0')).toBe(false);
    const ROLLBACK = { serial: STABLE.serial, digest: `sha256:${'d'.repeat(64)}` };
    const withRollback = desiredTargets({ ...r.state, rollbackBundle: ROLLBACK }, spec, fleet);
    expect(withRollback.get('node-0')).toEqual({ bundle: ROLLBACK, mode: 'enforce' });
    expect([...everTargeted]).toEqual(['node-0']);
  });

  it('a rejection (gate, verifier, self-test) aborts the same way', () => {
    const spec = threeWaves();
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const rejected = report('node-0', NEXT, T0 + 1_000, 'rejected', { reason: { code: 'selftest-mismatch', message: 'probe 3: kernel DROPPED, signed FORWARDED' } });
    const r = step(s, { spec, fleet, reports: new Map([['node-0', rejected]]), now: T0 + 2_000 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toContain('rejected bundle serial 5: probe 3');
  });

  it('an agent that stops reporting counts as failing after the timeout, not as healthy', () => {
    const spec = threeWaves();
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    // Active at once, then silent: the bake would have ended at T0+65s, but a node that went quiet must not pass.
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 5_000), now: T0 + 5_000 }).state;
    const silent = allActive(['node-0'], NEXT, T0 + 5_000);
    expect(step(s, { spec, fleet, reports: silent, now: T0 + 125_000 }).state.phase).toBe('progressing');
    const r = step(s, { spec, fleet, reports: silent, now: T0 + 125_001 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toBe('node node-0 has not reported for 120 s (limit 120 s)');
  });

  it('a node that never reports at all fails after the timeout counted from when it was reached', () => {
    const spec = threeWaves();
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    expect(step(s, { spec, fleet, reports: new Map(), now: T0 + 120_000 }).state.phase).toBe('progressing');
    expect(step(s, { spec, fleet, reports: new Map(), now: T0 + 120_001 }).state.phase).toBe('aborted');
  });

  it('drops above max(absolute, perPredicted × prediction) abort', () => {
    const spec = threeWaves({ maxDrops: { absolute: 10, perPredicted: 2 } });
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const at = (drops: number, predictedDrops?: number): Map<string, NodeReport> => new Map([['node-0', report('node-0', NEXT, T0 + 1_000, 'active', { drops, ...(predictedDrops === undefined ? {} : { predictedDrops }) })]]);
    expect(step(s, { spec, fleet, reports: at(10), now: T0 + 1_000 }).state.phase).toBe('progressing');
    expect(step(s, { spec, fleet, reports: at(11), now: T0 + 1_000 }).state.reason).toBe('node node-0 dropped 11 packets under bundle serial 5, above the bound of 10');
    expect(step(s, { spec, fleet, reports: at(40, 20), now: T0 + 1_000 }).state.phase).toBe('progressing');
    expect(step(s, { spec, fleet, reports: at(41, 20), now: T0 + 1_000 }).state.phase).toBe('aborted');
  });
});

describe('metric gates', () => {
  const spec = threeWaves({
    metrics: [
      {
        name: 'drop-rate',
        query: 'sum(rate(palisade_drop_count_total{node=~"$nodes"}[1m]))',
        successCondition: { op: '<', threshold: 1 },
        intervalMs: 20_000,
        count: 3,
        failureLimit: 0,
        inconclusiveLimit: 0,
        consecutiveErrorLimit: 4,
      },
    ],
  });
  const m = (at: number, outcome: Measurement['outcome'], value?: number): Measurement => ({ gate: 'drop-rate', wave: 0, at, outcome, ...(value === undefined ? {} : { value }) });
  const healthy = (): RolloutState => {
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    return step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), now: T0 }).state;
  };

  it('are measured only once the wave is healthy, on its nodes, every interval; the wave waits for count even past the bake', () => {
    const s0 = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    expect(step(s0, { spec, fleet, reports: new Map(), now: T0 }).due).toEqual([]);
    const r = step(s0, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), now: T0 });
    expect(r.due).toEqual([{ gate: 'drop-rate', wave: 0, query: 'sum(rate(palisade_drop_count_total{node=~"node-0"}[1m]))' }]);
    let s = r.state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 20_000), measurements: [m(T0, 'successful', 0)], now: T0 + 20_000 }).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 40_000), measurements: [m(T0 + 20_000, 'successful', 0)], now: T0 + 70_000 }).state;
    // Bake (60 s) is over but only 2 of 3 measurements are in.
    expect(s.wave).toBe(0);
    const last = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 70_000), measurements: [m(T0 + 40_000, 'successful', 0.5)], now: T0 + 70_000 });
    expect(last.state.wave).toBe(1);
    expect(last.state.measurements).toEqual([]);
  });

  it('a failed measurement aborts; measurements of another wave or unknown gates are ignored', () => {
    let s = healthy();
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), measurements: [{ ...m(T0, 'failed', 9), wave: 3 }, { ...m(T0, 'failed', 9), gate: 'other' }], now: T0 + 1 }).state;
    expect(s.phase).toBe('progressing');
    const r = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), measurements: [m(T0 + 2, 'failed', 9)], now: T0 + 3 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toBe("metric gate 'drop-rate' failed in wave 0 (1 failed; last value 9)");
  });

  it('five query errors in a row abort (consecutiveErrorLimit 4)', () => {
    let s = healthy();
    for (let i = 0; i < 4; i++) s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), measurements: [{ ...m(T0 + i, 'error'), message: 'connection refused' }], now: T0 + i }).state;
    expect(s.phase).toBe('progressing');
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), measurements: [{ ...m(T0 + 5, 'error'), message: 'connection refused' }], now: T0 + 5 }).state;
    expect(s.phase).toBe('aborted');
    expect(s.reason).toBe("metric gate 'drop-rate' errored in wave 0 (5 error; last: connection refused)");
  });

  it('inconclusive pauses; resume measures anew; a node failure still aborts a paused rollout', () => {
    const s = healthy();
    const paused = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), measurements: [m(T0, 'inconclusive')], now: T0 + 1 });
    expect(paused.state.phase).toBe('paused');
    expect(paused.events).toEqual([{ kind: 'paused', reason: "metric gate 'drop-rate' is inconclusive in wave 0 (1 inconclusive)" }]);
    // Paused: no promotion however long.
    expect(step(paused.state, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 1e6), now: T0 + 1e6 }).state.wave).toBe(0);
    const resumed = resume(paused.state, T0 + 2).state;
    expect(resumed.measurements).toEqual([]);
    expect(step(resumed, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 2), now: T0 + 2 }).due).toHaveLength(1);
    const failing = new Map([['node-0', report('node-0', NEXT, T0 + 3, 'rolled-back')]]);
    expect(step(paused.state, { spec, fleet, reports: failing, now: T0 + 3 }).state.phase).toBe('aborted');
  });
});

describe('audit first, then enforce', () => {
  it('the canary audits while its wave runs and must enforce before the next wave counts as healthy', () => {
    const spec = threeWaves({}, 'audit');
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    expect(desiredTargets(s, spec, fleet).get('node-0')).toEqual({ bundle: NEXT, mode: 'audit' });
    // Reporting enforce while audit is wanted is not healthy yet.
    expect(step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), now: T0 }).state.waveHealthyAt).toBeNull();
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0, 'audit'), now: T0 }).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 60_000, 'audit'), now: T0 + 60_000 }).state;
    expect(s.wave).toBe(1);
    expect(desiredTargets(s, spec, fleet).get('node-0')).toEqual({ bundle: NEXT, mode: 'enforce' });
    const half = ['node-1', 'node-2', 'node-3', 'node-4'];
    const stillAuditing = new Map([...allActive(half, NEXT, T0 + 61_000), ...allActive(['node-0'], NEXT, T0 + 61_000, 'audit')]);
    expect(step(s, { spec, fleet, reports: stillAuditing, now: T0 + 61_000 }).state.waveHealthyAt).toBeNull();
    expect(step(s, { spec, fleet, reports: allActive(['node-0', ...half], NEXT, T0 + 61_000), now: T0 + 61_000 }).state.waveHealthyAt).toBe(T0 + 61_000);
  });
});

describe('a new bundle during a rollout supersedes it', () => {
  it('the old rollout stops; nodes it reached keep its bundle until the new one reaches them; an abort sends them to stable', () => {
    const spec = threeWaves();
    let old = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    old = step(old, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), now: T0 }).state;
    old = step(old, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 60_000), now: T0 + 60_000 }).state;
    expect(old.wave).toBe(1);

    const started = startRollout(NEWER, spec, fleet, old, T0 + 70_000);
    expect(started.superseded).toMatchObject({ phase: 'superseded', supersededBy: 6 });
    expect(desiredTargets(started.superseded!, spec, fleet).size).toBe(0);
    const s = started.state;
    expect(s.stable).toEqual(STABLE);
    expect(targetNodes(s, spec, NEWER.serial)).toEqual(['node-0']);
    expect(targetNodes(s, spec, NEXT.serial)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(targetNodes(s, spec, STABLE.serial)).toEqual(['node-5', 'node-6', 'node-7', 'node-8', 'node-9']);

    const aborted = abort(s, new Map(), T0 + 80_000, 'operator abort').state;
    expect(aborted.blastRadius).toEqual({ nodes: ['node-0'], exposedMs: 10_000, drops: 0 });
    // Touched by either rollout (node-0 by this one, node-1…4 by the superseded one): to the rollback bundle.
    expect(targetNodes(aborted, spec, STABLE.serial)).toEqual(['node-5', 'node-6', 'node-7', 'node-8', 'node-9']);
    const ROLLBACK = { serial: STABLE.serial, digest: `sha256:${'d'.repeat(64)}` };
    expect([...desiredTargets({ ...aborted, rollbackBundle: ROLLBACK }, spec, fleet)].filter(([, t]) => t.bundle === ROLLBACK).map(([n]) => n)).toEqual(['node-0', 'node-1', 'node-2', 'node-3', 'node-4']);
  });

  it('refuses a bundle that is not newer', () => {
    const spec = threeWaves();
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    expect(() => startRollout(NEXT, spec, fleet, s, T0)).toThrowError(RolloutError);
    try {
      startRollout(STABLE, spec, fleet, s, T0);
    } catch (err) {
      expect((err as RolloutError).code).toBe('rollout-stale-bundle');
    }
  });
});

describe('operator commands', () => {
  it('promote skips the current wave\'s bake; pause holds; commands refuse the wrong phase with a code', () => {
    const spec = threeWaves();
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const promoted = promote(s, spec, fleet, T0 + 1);
    expect(promoted.state.wave).toBe(1);
    expect(promoted.events[0]).toEqual({ kind: 'wave-promoted', wave: 0, by: 'operator' });
    const paused = pause(promoted.state, T0 + 2, 'maintenance window').state;
    expect(paused.phase).toBe('paused');
    expect(() => pause(paused, T0 + 3, 'again')).toThrowError(/cannot pause a rollout that is paused/);
    expect(() => resume(s, T0)).toThrowError(expect.objectContaining({ code: 'rollout-wrong-phase' }));
    const done = { ...s, phase: 'completed' as const };
    expect(() => abort(done, new Map(), T0, 'x')).toThrowError(expect.objectContaining({ code: 'rollout-wrong-phase' }));
  });

  it('nodes joining during a wave are reached if their planned wave has started, and hold the bake until healthy', () => {
    const spec = threeWaves();
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0), now: T0 }).state;
    expect(s.waveHealthyAt).toBe(T0);
    const joined = [...fleet, { name: 'node-00', labels: { 'palisade.io/canary': 'true' } }];
    const r = step(s, { spec, fleet: joined, reports: allActive(['node-0'], NEXT, T0 + 61_000), now: T0 + 61_000 });
    expect(r.state.reached['node-00']).toEqual({ wave: 0, at: T0 + 61_000 });
    expect(r.state.wave).toBe(0);
    expect(r.state.waveHealthyAt).toBeNull();
  });
});
