/** Wave planning and metric-gate judgement (Argo Rollouts' analysis semantics). */
import { describe, expect, it } from 'vitest';
import { assessMetric, classifyValue, measurementDue, nodesRegex, planWaves, worstVerdict, type Measurement, type MeasurementOutcome, type MetricGateSpec } from '../../pipeline/rollout/index.js';
import { fleetOf, threeWaves } from './fleet.js';

describe('planWaves', () => {
  it('label wave first, then cumulative percentages in name order, the last wave takes the rest', () => {
    const plan = planWaves(threeWaves().waves, fleetOf(10));
    const byWave = [0, 1, 2].map((w) => [...plan].filter(([, x]) => x === w).map(([n]) => n).sort());
    expect(byWave[0]).toEqual(['node-0']);
    // 50% of 10 = 5 reached in total: node-0 plus the next four in name order.
    expect(byWave[1]).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(byWave[2]).toEqual(['node-5', 'node-6', 'node-7', 'node-8', 'node-9']);
  });

  it('percentages round up, so a small fleet still gets a canary; an empty fleet plans nothing', () => {
    const spec = { ...threeWaves(), waves: [{ name: 'one', select: { kind: 'percent' as const, percent: 1 }, bakeMs: 0, mode: 'enforce' as const }, { name: 'all', select: { kind: 'percent' as const, percent: 100 }, bakeMs: 0, mode: 'enforce' as const }] };
    expect([...planWaves(spec.waves, fleetOf(3))]).toEqual([['node-0', 0], ['node-1', 1], ['node-2', 1]]);
    expect(planWaves(spec.waves, []).size).toBe(0);
  });

  it('a node no wave selects is reached by the last wave, even when the last wave is a label wave', () => {
    const waves = [
      { name: 'a', select: { kind: 'labels' as const, matchLabels: { zone: 'a' } }, bakeMs: 0, mode: 'enforce' as const },
      { name: 'b', select: { kind: 'labels' as const, matchLabels: { zone: 'b' } }, bakeMs: 0, mode: 'enforce' as const },
    ];
    const plan = planWaves(waves, [{ name: 'x', labels: { zone: 'c' } }, { name: 'y', labels: { zone: 'a' } }]);
    expect(plan.get('y')).toBe(0);
    expect(plan.get('x')).toBe(1);
  });

  it('matches labels by own keys only', () => {
    const waves = [
      { name: 'a', select: { kind: 'labels' as const, matchLabels: { constructor: 'x' } }, bakeMs: 0, mode: 'enforce' as const },
      { name: 'rest', select: { kind: 'percent' as const, percent: 100 }, bakeMs: 0, mode: 'enforce' as const },
    ];
    expect(planWaves(waves, [{ name: 'n', labels: {} }]).get('n')).toBe(1);
  });
});

const gate = (o: Partial<MetricGateSpec> = {}): MetricGateSpec => ({
  name: 'drops',
  query: 'sum(rate(palisade_drop_count_total{node=~"$nodes"}[1m]))',
  successCondition: { op: '<', threshold: 5 },
  intervalMs: 10_000,
  count: 3,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  ...o,
});
const ms = (...outcomes: MeasurementOutcome[]): Measurement[] => outcomes.map((outcome, i) => ({ gate: 'drops', wave: 0, at: i * 10_000, outcome }));

describe('assessMetric (Argo Rollouts semantics)', () => {
  it.each([
    ['no measurement yet', gate(), ms(), 'pending'],
    ['fewer than count', gate(), ms('successful', 'successful'), 'running'],
    ['count reached', gate(), ms('successful', 'successful', 'successful'), 'successful'],
    ['one failure over failureLimit 0', gate(), ms('successful', 'failed'), 'failed'],
    ['failures within failureLimit 1', gate({ failureLimit: 1 }), ms('failed', 'successful', 'successful'), 'successful'],
    ['failures over failureLimit 1', gate({ failureLimit: 1 }), ms('failed', 'successful', 'failed'), 'failed'],
    ['inconclusive over inconclusiveLimit 0', gate(), ms('inconclusive'), 'inconclusive'],
    ['failed beats inconclusive', gate(), ms('inconclusive', 'failed'), 'failed'],
    ['four errors in a row are tolerated (limit 4)', gate(), ms('error', 'error', 'error', 'error'), 'running'],
    ['five errors in a row are an error', gate(), ms('error', 'error', 'error', 'error', 'error'), 'error'],
    ['a success resets the error run', gate(), ms('error', 'error', 'error', 'error', 'successful', 'error'), 'running'],
    ['errors never count toward count', gate({ count: 1, consecutiveErrorLimit: 10 }), ms('error', 'error'), 'running'],
  ] as const)('%s', (_name, g, m, expected) => {
    expect(assessMetric(g, m)).toBe(expected);
  });

  it('worst verdict: failed > error > inconclusive > running > successful', () => {
    expect(worstVerdict(['successful', 'running', 'inconclusive'])).toBe('inconclusive');
    expect(worstVerdict(['error', 'failed'])).toBe('failed');
    expect(worstVerdict(['successful', 'error'])).toBe('error');
    expect(worstVerdict([])).toBe('successful');
  });

  it('classifies values against the condition; no sample or NaN is inconclusive', () => {
    expect(classifyValue({ op: '<', threshold: 5 }, 4.9)).toBe('successful');
    expect(classifyValue({ op: '<', threshold: 5 }, 5)).toBe('failed');
    expect(classifyValue({ op: '>=', threshold: 0.95 }, 0.95)).toBe('successful');
    expect(classifyValue({ op: '!=', threshold: 0 }, 0)).toBe('failed');
    expect(classifyValue({ op: '<', threshold: 5 }, undefined)).toBe('inconclusive');
    expect(classifyValue({ op: '<', threshold: 5 }, Number.NaN)).toBe('inconclusive');
  });

  it('a measurement is due at once, then after each interval, and never once the gate is judged', () => {
    expect(measurementDue(gate(), [], 0)).toBe(true);
    expect(measurementDue(gate(), ms('successful'), 9_999)).toBe(false);
    expect(measurementDue(gate(), ms('successful'), 10_000)).toBe(true);
    expect(measurementDue(gate(), ms('failed'), 1e9)).toBe(false);
    expect(measurementDue(gate(), ms('successful', 'successful', 'successful'), 1e9)).toBe(false);
  });
});

describe('nodesRegex', () => {
  it('escapes regex metacharacters and the PromQL string quoting', () => {
    expect(nodesRegex(['node-1', 'ip-10-0-0-1.ec2.internal'])).toBe('node-1|ip-10-0-0-1\\\\.ec2\\\\.internal');
    expect(nodesRegex(['a"b'])).toBe('a\\"b');
    expect(nodesRegex([])).toBe('^$');
  });
});
