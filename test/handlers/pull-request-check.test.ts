/**
 * judgePullRequest, the pure half of onPullRequest: the budget, warn and allow actions, the worst action deciding
 * the conclusion, annotation levels, and the bounded Mermaid graph in the comment.
 */
import { describe, expect, it } from 'vitest';
import { DiffAggregator, renderMermaid, type DiffReport } from '../../pipeline/diff/index.js';
import { DEFAULT_GATE_CONFIG, judgePullRequest, type GateConfig } from '../../pipeline/handlers/index.js';
import { dropped, forwarded, pod, rule, tcp } from '../diff/helpers.js';

/** `blocked` connections of 3 flows each newly blocked (located at one rule each), `allowed` newly allowed. */
function report(blocked: number, allowed = 0): DiffReport {
  const agg = new DiffAggregator();
  let i = 0;
  for (let c = 0; c < blocked + allowed; c++) {
    const src = pod('shop', `client-${c}-7d9f8b6c5d-x2x4q`, `10.1.0.${c + 1}`);
    const dst = pod('data', 'db-0', '10.0.2.20', 'db');
    const r = rule(`policies/p${c}.yaml`, 10 + c, `p${c}`);
    for (let f = 0; f < 3; f++, i++) {
      if (c < blocked) agg.add(tcp(i, src, dst, 5432), forwarded(i, [r]), dropped(i, 'egress', [r]));
      else agg.add(tcp(i, src, dst, 5432), dropped(i, 'egress', [r]), forwarded(i, [r]));
    }
  }
  const result = agg.result();
  return { version: 1, base: { ref: 'main', commit: 'a'.repeat(40) }, head: { ref: 'pr', commit: 'b'.repeat(40) }, ...result, unmatched_rules: [], unselected_endpoints: [], input: null };
}

const judge = (r: DiffReport, config: GateConfig = DEFAULT_GATE_CONFIG, labels: string[] = [], changedFiles: string[] = ['policies/p0.yaml']) =>
  judgePullRequest({ config, findings: { kind: 'report', report: r, headWarnings: [], baseErrors: [] }, labels, changedFiles });

describe('judgePullRequest', () => {
  it('fails newly blocked flows by default, one failure annotation per rule', () => {
    const r = judge(report(2));
    expect(r.conclusion).toBe('failure');
    expect(r.annotations.map((a) => [a.path, a.line, a.level])).toEqual([
      ['policies/p0.yaml', 10, 'failure'],
      ['policies/p1.yaml', 11, 'failure'],
    ]);
  });

  it('allows newly blocked flows within the budget, and fails above it', () => {
    const budget = (n: number): GateConfig => ({ ...DEFAULT_GATE_CONFIG, budget: { newlyBlockedFlows: n } });
    expect(judge(report(2), budget(6)).conclusion).toBe('success');
    expect(judge(report(2), budget(6)).summary).toContain('within the budget of 6 flows, allowed');
    expect(judge(report(2), budget(5)).conclusion).toBe('failure');
  });

  it('takes the worst action: warn on newly allowed is neutral, fail on newly allowed fails', () => {
    const warn: GateConfig = { ...DEFAULT_GATE_CONFIG, actions: { newlyBlocked: 'allow', newlyAllowed: 'warn' } };
    expect(judge(report(1, 1), warn).conclusion).toBe('neutral');
    const levels = judge(report(1, 1), warn).annotations.map((a) => a.level);
    expect(levels).toEqual(['notice', 'warning']);
    expect(judge(report(0, 1), { ...DEFAULT_GATE_CONFIG, actions: { newlyBlocked: 'allow', newlyAllowed: 'fail' } }).conclusion).toBe('failure');
  });

  it('applies a path override only when every changed file is under it', () => {
    const config: GateConfig = { ...DEFAULT_GATE_CONFIG, overrides: [{ path: 'policies/sandbox/**', newlyBlocked: 'allow', pos: { file: 'palisade.yaml', line: 1, col: 1 } }] };
    expect(judge(report(1), config, [], ['policies/sandbox/a.yaml']).conclusion).toBe('success');
    expect(judge(report(1), config, [], ['policies/sandbox/a.yaml', 'policies/prod.yaml']).conclusion).toBe('failure');
  });

  it('keeps the comment within GitHub’s limit with a bounded graph, however large the change', () => {
    const r = judge(report(400));
    expect(r.comment.length).toBeLessThanOrEqual(65_535 - 500);
    expect(r.comment.match(/ -->\|/g)).toHaveLength(20);
    expect(r.comment).toContain('380 more changed connections not drawn.');
  });
});

describe('renderMermaid', () => {
  it('quotes labels and strips what Mermaid would parse', () => {
    const r = report(1);
    const evil = { ...r, connections: [{ ...r.connections[0]!, source: { ...r.connections[0]!.source, name: 'a"] --> x[("pwn")|`' } }] };
    const out = renderMermaid(evil);
    expect(out).toContain('n0["a -- x ( pwn )"]');
    expect(renderMermaid({ ...r, connections: [] })).toBe('');
  });
});
