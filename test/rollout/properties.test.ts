/**
 * Properties of the rollout's decisions over generated fleets, specs and agent behaviours (fast-check, saved seed so
 * failures reproduce). Each run drives the real step() with simulated agents, storing the state through JSON between
 * steps as the controller does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredTargets, startRollout, step, type FleetNode, type NodeReport, type RolloutSpec, type RolloutState, type WaveSpec } from '../../pipeline/rollout/index.js';
import { NEXT, report, STABLE } from './fleet.js';

type Behaviour = { kind: 'good'; applyMs: number } | { kind: 'reject' } | { kind: 'rollback'; afterMs: number } | { kind: 'silent' };

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('good' as const), applyMs: fc.integer({ min: 0, max: 30_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reject' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollback' as const), afterMs: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'silent' as const }) },
);

const wave: fc.Arbitrary<WaveSpec> = fc.record({
  name: fc.constant('w'),
  select: fc.oneof(
    fc.record({ kind: fc.constant('percent' as const), percent: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ kind: fc.constant('labels' as const), matchLabels: fc.constantFrom({ zone: 'a' }, { zone: 'b' }, {}) }),
  ),
  bakeMs: fc.integer({ min: 0, max: 60_000 }),
  mode: fc.constantFrom('enforce' as const, 'audit' as const),
});

const scenario = fc.record({
  waves: fc.array(wave, { minLength: 1, maxLength: 4 }),
  nodes: fc.array(fc.record({ zone: fc.constantFrom('a', 'b', 'c'), behaviour }), { maxLength: 12 }),
});

const T0 = 1_800_000_000_000;
const TICK = 5_000;
const HORIZON = 40 * 60_000;

describe('rollout properties', () => {
  it('never promotes twice, never targets an unreached node, completes only with every node healthy, aborts with the reached nodes as blast radius', () => {
    fc.assert(
      fc.property(scenario, ({ waves, nodes }) => {
        const spec: RolloutSpec = { waves, gates: { reportTimeoutMs: 90_000, metrics: [] } };
        const fleet: FleetNode[] = nodes.map((n, i) => ({ name: `n${String(i).padStart(2, '0')}`, labels: { zone: n.zone } }));
        const byName = new Map(fleet.map((f, i) => [f.name, nodes[i]!.behaviour]));
        let s: RolloutState = startRollout(NEXT, spec, fleet, null, T0).state;
        const everTargeted = new Set<string>();
        const reportsNow = (now: number): Map<string, NodeReport> => {
          const m = new Map<string, NodeReport>();
          const targets = desiredTargets(s, spec, fleet);
          for (const [node, since] of Object.entries(s.reached)) {
            const b = byName.get(node)!;
            const mode = targets.get(node)?.mode ?? 'enforce';
            const age = now - since.at;
            if (b.kind === 'silent') continue;
            if (b.kind === 'reject') m.set(node, report(node, NEXT, now, 'rejected'));
            else if (b.kind === 'rollback') m.set(node, report(node, NEXT, now, age >= b.afterMs ? 'rolled-back' : 'baking', { mode }));
            else m.set(node, age >= b.applyMs ? report(node, NEXT, now, 'active', { mode }) : report(node, STABLE, now, 'applying'));
          }
          return m;
        };
        for (let now = T0; now <= T0 + HORIZON && (s.phase === 'progressing' || s.phase === 'paused'); now += TICK) {
          const reports = reportsNow(now);
          const before = s;
          const r = step(s, { spec, fleet, reports, now });
          s = JSON.parse(JSON.stringify(r.state)) as RolloutState;
          for (const e of r.events) {
            if (e.kind === 'wave-promoted' && e.by === 'gates') {
              // Promoted by gates only when every reached node ran the bundle, active.
              for (const node of Object.keys(before.reached)) {
                const rep = reports.get(node);
                expect(rep?.phase).toBe('active');
                expect(rep?.bundle).toEqual(NEXT);
              }
            }
          }
          expect(new Set(s.promoted).size).toBe(s.promoted.length);
          expect(s.promoted).toEqual([...s.promoted].sort((a, b) => a - b));
          for (const [node, t] of desiredTargets(s, spec, fleet)) {
            if (t.bundle?.serial !== NEXT.serial) continue;
            everTargeted.add(node);
            if (s.phase !== 'completed') expect(Object.hasOwn(s.reached, node)).toBe(true);
          }
        }
        const allGood = nodes.every((n) => n.behaviour.kind === 'good');
        if (s.phase === 'completed') expect(allGood).toBe(true);
        if (allGood) expect(s.phase).toBe('completed');
        if (s.phase === 'aborted') {
          expect(s.blastRadius!.nodes).toEqual(Object.keys(s.reached).sort());
          for (const node of everTargeted) expect(s.blastRadius!.nodes).toContain(node);
          // No stable bundle (a first rollout): nothing to go back to; no node is told to run the aborted bundle.
          expect([...desiredTargets(s, spec, fleet).values()].every((t) => t.bundle === null)).toBe(true);
          for (const node of Object.keys(s.reached)) expect(desiredTargets(s, spec, fleet).has(node)).toBe(false);
        }
      }),
      { seed: 20261202, numRuns: 300 },
    );
  });
});
