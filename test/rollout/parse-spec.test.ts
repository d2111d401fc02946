/** The `rollout:` section of palisade.yaml: a full spec, defaults, and each mistake at its file:line:col. */
import { describe, expect, it } from 'vitest';
import { rolloutNode } from './spec-node.js';
import { DEFAULT_ROLLOUT_SPEC, parseDuration, parseRolloutSpec } from '../../pipeline/rollout/index.js';


const where = (text: string): string[] => parseRolloutSpec(rolloutNode(text)).diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`);

describe('parseRolloutSpec', () => {
  it('reads a full spec', () => {
    const { spec, diagnostics } = parseRolloutSpec(
      rolloutNode(`rollout:
  waves:
    - name: canary
      nodeSelector:
        matchLabels: { palisade.io/canary: "true" }
      bake: 2m
      mode: audit
    - name: half
      percent: 50
      bake: 1m30s
    - name: everyone
      percent: 100
  gates:
    reportTimeout: 90s
    maxDrops: { absolute: 50, perPredicted: 2 }
    metrics:
      - name: drop-rate
        query: sum(rate(palisade_drop_count_total{node=~"$nodes"}[1m]))
        successCondition: "< 5"
        interval: 10s
        count: 3
        failureLimit: 1
`),
    );
    expect(diagnostics).toEqual([]);
    expect(spec).toEqual({
      waves: [
        { name: 'canary', select: { kind: 'labels', matchLabels: { 'palisade.io/canary': 'true' } }, bakeMs: 120_000, mode: 'audit' },
        { name: 'half', select: { kind: 'percent', percent: 50 }, bakeMs: 90_000, mode: 'enforce' },
        { name: 'everyone', select: { kind: 'percent', percent: 100 }, bakeMs: 30_000, mode: 'enforce' },
      ],
      gates: {
        reportTimeoutMs: 90_000,
        maxDrops: { absolute: 50, perPredicted: 2 },
        metrics: [
          {
            name: 'drop-rate',
            query: 'sum(rate(palisade_drop_count_total{node=~"$nodes"}[1m]))',
            successCondition: { op: '<', threshold: 5 },
            intervalMs: 10_000,
            count: 3,
            failureLimit: 1,
            inconclusiveLimit: 0,
            consecutiveErrorLimit: 4,
          },
        ],
      },
    });
  });

  it('defaults the gates', () => {
    const { spec } = parseRolloutSpec(rolloutNode('rollout:\n  waves:\n    - percent: 100\n'));
    expect(spec).toEqual({ waves: [{ name: 'wave-1', select: { kind: 'percent', percent: 100 }, bakeMs: 30_000, mode: 'enforce' }], gates: DEFAULT_ROLLOUT_SPEC.gates });
  });

  it('points at each mistake', () => {
    expect(
      where(`rollout:
  waves:
    - name: a
      percent: 50
      bake: soon
      mode: yolo
      nodeSelectr: {}
    - name: a
      percent: 20
  gates:
    reportTimout: 1m
    metrics:
      - name: m
        query: up
        successCondition: "about 5"
        count: 0
`),
    ).toEqual([
      '5:13 rollout.waves[0].bake must be a duration like 30s, 2m or 1h (at most 7 days)',
      '6:13 rollout.waves[0].mode must be enforce or audit',
      '7:7 unknown field rollout.waves[0].nodeSelectr (allowed: name, nodeSelector, percent, bake, mode, auditNamespaces)',
      '8:7 rollout.waves[1].percent 20 is below an earlier wave\'s 50: percentages are cumulative',
      "8:7 wave name 'a' is used twice",
      '11:5 unknown field rollout.gates.reportTimout (allowed: reportTimeout, maxDrops, metrics)',
      '15:27 rollout.gates.metrics[0].successCondition must be a comparison with a number, e.g. "< 5" or ">= 0.99"',
      '16:16 rollout.gates.metrics[0].count must be a whole number from 1 to 10000',
    ]);
    expect(where('rollout:\n  waves: []\n')).toEqual(['2:10 rollout.waves must list at least one wave']);
    expect(where('rollout:\n  waves:\n    - name: x\n')).toEqual(['3:7 rollout.waves[0] needs nodeSelector or percent']);
    expect(where('rollout:\n  waves:\n    - percent: 0\n')).toEqual(['3:16 rollout.waves[0].percent must be above 0 and at most 100']);
  });

  it('durations', () => {
    expect(['500ms', '30s', '2m', '1h', '1m30s', '1h0m5s'].map(parseDuration)).toEqual([500, 30_000, 120_000, 3_600_000, 90_000, 3_605_000]);
    expect(['', '5', '1d', '-1s', '1s2m', '8d', '169h', 'm', '1.5s'].map(parseDuration)).toEqual(Array(9).fill(undefined));
  });
});
