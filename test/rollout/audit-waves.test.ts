/**
 * Audit first, then enforce, in the controller: the spec's audit waves (whole node or namespaces, never the last
 * wave), the targets they produce, the drop gate judged on would-be drops against the simulation's prediction, the
 * next step's enforcement gated like any other, and the status table.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rolloutNode } from './spec-node.js';
import { desiredTargets, parseRolloutSpec, renderStatus, startRollout, step, type RolloutSpec, type RolloutState } from '../../pipeline/rollout/index.js';
import { allActive, fleetOf, NEXT, report, STABLE, threeWaves } from './fleet.js';

const T0 = 1_800_000_000_000;
const fleet = fleetOf(10);

const diagnostics = (text: string): string[] => parseRolloutSpec(rolloutNode(text)).diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`);

function completedStable(spec: RolloutSpec): RolloutState {
  const { state } = startRollout(STABLE, spec, fleet, null, T0 - 1e6);
  return { ...state, phase: 'completed', wave: spec.waves.length, reached: {} };
}

describe('audit waves in the spec', () => {
  it('reads auditNamespaces (sorted) on an audit wave', () => {
    const { spec, diagnostics: d } = parseRolloutSpec(
      rolloutNode(`rollout:
  waves:
    - name: canary
      percent: 10
      mode: audit
      auditNamespaces: [shop, payments]
    - name: everyone
      percent: 100
`),
    );
    expect(d).toEqual([]);
    expect(spec!.waves[0]).toMatchObject({ mode: 'audit', auditNamespaces: ['payments', 'shop'] });
    expect(spec!.waves[1]).not.toHaveProperty('auditNamespaces');
  });

  it("the example in the template's palisade.yaml comments is a valid audit-first spec", () => {
    const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policy-repo-template', 'palisade.yaml'), 'utf8');
    const example = text.split('\n').filter((l) => /^# (rollout:| {2,})/.test(l)).map((l) => l.slice(2)).join('\n');
    const { spec, diagnostics: d } = parseRolloutSpec(rolloutNode(`${example}\n`));
    expect(d).toEqual([]);
    expect(spec!.waves.map((w) => w.mode)).toEqual(['audit', 'enforce']);
    expect(spec!.gates.maxDrops).toEqual({ absolute: 100, perPredicted: 2 });
  });

  it('refuses audit on the last wave, auditNamespaces without audit, and a bad namespace list, each at its place', () => {
    expect(
      diagnostics(`rollout:
  waves:
    - name: a
      percent: 10
      auditNamespaces: [shop]
    - name: b
      percent: 50
      mode: audit
      auditNamespaces: shop
    - name: c
      percent: 100
      mode: audit
`),
    ).toEqual([
      '5:24 rollout.waves[0].auditNamespaces needs mode: audit',
      '9:24 rollout.waves[1].auditNamespaces must list 1 to 256 namespace names',
      '10:7 rollout.waves[2] is the last wave and cannot audit: its nodes would enforce only when the rollout completes, ungated; add a wave after it',
    ]);
  });
});

describe('an audit wave in the controller', () => {
  const gated = (perPredicted: number): RolloutSpec => {
    const base = threeWaves({ maxDrops: { perPredicted } }, 'audit');
    return { ...base, waves: [{ ...base.waves[0]!, auditNamespaces: ['payments'] }, ...base.waves.slice(1)] };
  };

  it('targets the canary in audit (with its namespaces) only while its wave is current', () => {
    const spec = gated(2);
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    expect(desiredTargets(s, spec, fleet).get('node-0')).toEqual({ bundle: NEXT, mode: 'audit', auditNamespaces: ['payments'] });
    expect(desiredTargets(s, spec, fleet).get('node-1')).toEqual({ bundle: STABLE, mode: 'enforce' });
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0, 'audit'), now: T0 }).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 60_000, 'audit'), now: T0 + 60_000 }).state;
    expect(s.wave).toBe(1);
    expect(desiredTargets(s, spec, fleet).get('node-0')).toEqual({ bundle: NEXT, mode: 'enforce' });
    expect(desiredTargets(s, spec, fleet).get('node-1')).toEqual({ bundle: NEXT, mode: 'enforce' });
  });

  it('would-be drops within perPredicted × the prediction pass; above it the wave aborts before anything was dropped', () => {
    const spec = gated(2);
    const start = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const auditing = (drops: number, at: number) => new Map([['node-0', report('node-0', NEXT, at, 'active', { mode: 'audit', drops, predictedDrops: 10 })]]);
    let s = step(start, { spec, fleet, reports: auditing(20, T0), now: T0 }).state;
    expect(s.phase).toBe('progressing');
    expect(s.waveHealthyAt).toBe(T0);
    const r = step(s, { spec, fleet, reports: auditing(21, T0 + 30_000), now: T0 + 30_000 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toBe('node node-0 would have dropped 21 packets under bundle serial 5 in audit, above the bound of 20 (simulation predicted 10)');
    expect(r.state.blastRadius).toEqual({ nodes: ['node-0'], exposedMs: 30_000, drops: 21 });
    // The aborted canary goes back (to the rollback bundle once it exists), never to enforcing the bad one.
    expect(desiredTargets(r.state, spec, fleet).has('node-0')).toBe(false);
    s = step(s, { spec, fleet, reports: auditing(20, T0 + 60_000), now: T0 + 60_000 }).state;
    expect(s.wave).toBe(1);
  });

  it('the next step enforces: the audited nodes must enforce within the bound before the next wave bakes', () => {
    const spec = gated(2);
    let s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0, 'audit'), now: T0 }).state;
    s = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, T0 + 60_000, 'audit'), now: T0 + 60_000 }).state;
    const half = ['node-1', 'node-2', 'node-3', 'node-4'];
    const reports = new Map([...allActive(half, NEXT, T0 + 61_000), ['node-0', report('node-0', NEXT, T0 + 61_000, 'active', { mode: 'enforce', drops: 25, predictedDrops: 10 })] as const]);
    const r = step(s, { spec, fleet, reports, now: T0 + 61_000 });
    expect(r.state.phase).toBe('aborted');
    expect(r.state.reason).toBe('node node-0 dropped 25 packets under bundle serial 5, above the bound of 20 (simulation predicted 10)');
  });

  it('status shows the audit target, would-be drops and the prediction', () => {
    const spec = gated(2);
    const s = startRollout(NEXT, spec, fleet, completedStable(spec), T0).state;
    const statuses = new Map([['node-0', { ...report('node-0', NEXT, T0, 'active', { mode: 'audit', drops: 7, predictedDrops: 5 }), labels: {} }]]);
    const targets = new Map([['node-0', { bundle: NEXT, mode: 'audit' as const, auditNamespaces: ['payments'], rollout: 5 }]]);
    const text = renderStatus({ state: s, spec, statuses, targets, now: T0 + 1000 });
    expect(text).toMatch(/^ {2}0 {2}canary +labels palisade.io\/canary=true +bake 60s +audit \(namespaces payments\) current: waiting for nodes — node-0$/m);
    expect(text).toMatch(/^ {2}NODE +WAVE +TARGET +RUNNING +PHASE +MODE +DROPS +PREDICTED +REPORTED$/m);
    expect(text).toMatch(/^ {2}node-0 +0 +5 \(audit: payments\) +5 +active +audit +7 would-be +5 +1s ago$/m);
  });
});
