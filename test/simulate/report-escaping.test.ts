/**
 * The text reports of `simulate` (table, summary) quote recorded flows: pod, namespace and workload names come
 * from Hubble JSON anyone can write. Each report line must stay one line with no terminal escape or bidi control.
 */
import { describe, expect, it } from 'vitest';
import type { Flow, FlowEndpoint, Verdict } from '../../pipeline/core/flow/types.js';
import { SummaryCollector } from '../../pipeline/simulate/summary-report.js';
import { tableRow } from '../../pipeline/simulate/table-report.js';

const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const pod = (namespace: string, workload: string): FlowEndpoint => ({ kind: 'pod', ip: '10.0.0.1', labels: [], namespace, workload });
const flow: Flow = {
  index: 7,
  src: pod('default', 'web\x1b[2J\nok: serial 99'),
  dst: pod('db\u202e', 'pg'),
  protocol: 'TCP',
  dstPort: 5432,
} as Flow;
const dropped: Verdict = {
  index: 7,
  verdict: 'DROPPED',
  drop_reason: 'POLICY_DENIED',
  dropped_at: 'ingress',
  allowed_by: [],
  denied_by: [{ kind: 'CiliumNetworkPolicy', namespace: 'default', name: 'deny\x9b31m', rule: 'r0', file: 'p\nolicies.yaml', line: 3 }],
} as Verdict;

describe('simulate text reports quote flow names escaped', () => {
  it('table: one line per flow, names and the rule escaped', () => {
    const row = tableRow(flow, dropped);
    expect(row.endsWith('\n')).toBe(true);
    expect(row.slice(0, -1)).not.toMatch(/\n/);
    expect(row).not.toMatch(RAW_UNSAFE);
    expect(row).toContain('default/web\\x1b[2J\\x0a');
    expect(row).toContain('db\\u202e/pg');
    expect(row).toContain('deny\\x9b31m (p\\x0aolicies.yaml:3)');
  });

  it('summary: the dropped pair is one escaped line', () => {
    const summary = new SummaryCollector();
    summary.add(flow, dropped);
    const text = summary.render(['  bad line\x1b[31m in flows.json']);
    expect(text).not.toMatch(RAW_UNSAFE);
    expect(text.split('\n').filter((l) => /^ok: /.test(l))).toEqual([]);
    expect(text).toContain('default/web\\x1b[2J\\x0aok: serial 99 → db\\u202e/pg');
    expect(text).toContain('  bad line\\x1b[31m in flows.json');
  });
});
