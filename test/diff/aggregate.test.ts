import { describe, expect, it } from 'vitest';
import { DiffAggregator, classifyChange, connectionOf, reportEndpoint, rfc3339Nanos } from '../../pipeline/diff/index.js';
import { WORLD, dropped, forwarded, pod, rule, tcp } from './helpers.js';

const frontend1 = pod('shop', 'frontend-7d9f8b6c5d-x2x4q', '10.0.1.10');
const frontend2 = pod('shop', 'frontend-7d9f8b6c5d-k8s7p', '10.0.1.11');
const db = pod('data', 'db-0', '10.0.2.20', 'db');
const api = pod('shop', 'api-5c4f7d8b9-q2w3e', '10.0.1.30');

describe('classifyChange', () => {
  it('names blocked, allowed and L7 changes and ignores attribution-only differences', () => {
    expect(classifyChange(forwarded(0), dropped(0, 'egress'))).toBe('newly-blocked');
    expect(classifyChange(dropped(0, 'ingress'), forwarded(0))).toBe('newly-allowed');
    expect(classifyChange(forwarded(0), forwarded(0, [], true))).toBe('l7-changed');
    const l7Refused = { ...dropped(0, 'ingress'), l7: 'proxy' as const };
    expect(classifyChange(l7Refused, dropped(0, 'egress'))).toBeNull();
    expect(classifyChange(forwarded(0, [rule('a.yaml', 1)]), forwarded(0, [rule('b.yaml', 2)]))).toBeNull();
    expect(classifyChange(dropped(0, 'egress'), dropped(0, 'ingress', [rule('c.yaml', 3)]))).toBeNull();
  });
});

describe('connections', () => {
  it('names pods by namespace and workload, everything else by kind', () => {
    expect(reportEndpoint(pod('data', 'db-0', '10.0.0.1', 'db'))).toEqual({ kind: 'pod', namespace: 'data', workload: 'db', name: 'data/db' });
    expect(reportEndpoint(pod('x', 'standalone', '10.0.0.3')).name).toBe('x/standalone');
    expect(reportEndpoint(WORLD)).toEqual({ kind: 'world', namespace: null, workload: null, name: 'world' });
  });

  it('turns replies around so they count with the connection they answer', () => {
    const reply = tcp(1, db, frontend1, 40001, { isReply: true, srcPort: 5432 });
    const c = connectionOf(reply);
    expect(c.client).toBe(frontend1);
    expect(c.server).toBe(db);
    expect(c.port).toBe(5432);
    const echoReply = { ...reply, protocol: 'ICMPv4' as const, icmpType: 0, srcPort: undefined, dstPort: undefined };
    expect(connectionOf(echoReply).port).toBe(8);
  });

  it('orders RFC 3339 times numerically, whatever the fraction length', () => {
    expect(rfc3339Nanos('2026-11-28T10:00:13Z')! < rfc3339Nanos('2026-11-28T10:00:13.5Z')!).toBe(true);
    expect(rfc3339Nanos('2026-11-28T10:00:13.000000001Z')! - rfc3339Nanos('2026-11-28T10:00:13Z')!).toBe(1n);
    expect(rfc3339Nanos('2026-11-28T12:00:00+02:00')).toBe(rfc3339Nanos('2026-11-28T10:00:00Z'));
    expect(rfc3339Nanos('yesterday')).toBeNull();
  });
});

describe('DiffAggregator', () => {
  it('groups changed flows by source workload, destination workload, port and change, with counts and times', () => {
    const agg = new DiffAggregator();
    const allow = rule('policies/shop/frontend.yaml', 30, 'frontend');
    const deny = rule('policies/cluster/deny.yaml', 12, 'deny-db');
    const times = ['2026-11-28T10:00:05.25Z', '2026-11-28T10:00:01Z', '2026-11-28T10:00:09.125000001Z'];
    // Three flows of frontend → db:5432 from two pods (one a reply), blocked by a deny rule.
    agg.add(tcp(0, frontend1, db, 5432, { time: times[0] }), forwarded(0, [allow]), dropped(0, 'egress', [deny]));
    agg.add(tcp(1, db, frontend2, 40001, { time: times[1], isReply: true, srcPort: 5432 }), forwarded(1, [allow]), dropped(1, 'egress', [deny]));
    agg.add(tcp(2, frontend2, db, 5432, { time: times[2] }), forwarded(2, [allow]), dropped(2, 'egress', [deny]));
    // Unchanged flow: counted in total only.
    agg.add(tcp(3, frontend1, api, 8080), forwarded(3), forwarded(3));
    // Another port is another connection; world → api newly allowed.
    agg.add(tcp(4, frontend1, db, 5433), forwarded(4), dropped(4, 'ingress'));
    agg.add(tcp(5, WORLD, api, 8080), dropped(5, 'ingress'), forwarded(5, [allow]));

    const { flows, connections } = agg.result();
    expect(flows).toEqual({ total: 6, changed: 5, newly_blocked: 4, newly_allowed: 1, l7_changed: 0, not_grouped: 0 });
    expect(connections.map((c) => [c.change, c.source.name, c.destination.name, c.port_label, c.flows])).toEqual([
      ['newly-blocked', 'shop/frontend', 'data/db', 'TCP/5432', 3],
      ['newly-blocked', 'shop/frontend', 'data/db', 'TCP/5433', 1],
      ['newly-allowed', 'world', 'shop/api', 'TCP/8080', 1],
    ]);
    const first = connections[0]!;
    expect(first.first_seen).toBe(times[1]);
    expect(first.last_seen).toBe(times[2]);
    expect(first.base.allowed_by).toEqual([allow]);
    expect(first.head.denied_by).toEqual([deny]);
    expect(first.head.drop_reasons).toEqual(['POLICY_DENY']);
    expect(first.head.dropped_at).toEqual(['egress']);
    expect(first.sample_flow_indexes).toEqual([0, 1, 2]);
    expect(first.sample_sources).toEqual(['frontend-7d9f8b6c5d-k8s7p', 'frontend-7d9f8b6c5d-x2x4q']);
    expect(first.sample_destinations).toEqual(['db-0']);
    expect(connections[1]!.head.drop_reasons).toEqual(['POLICY_DENIED']);
    expect(connections[1]!.first_seen).toBeNull();
    expect(connections[2]!.source).toEqual({ kind: 'world', namespace: null, workload: null, name: 'world' });
  });

  it('orders connections by flows, then names in natural order', () => {
    const agg = new DiffAggregator();
    ['ns10', 'ns2', 'ns1'].forEach((ns, i) => agg.add(tcp(i, pod(ns, 'a-0', '10.0.0.1'), db, 5432), forwarded(i), dropped(i, 'egress')));
    agg.add(tcp(3, pod('ns10', 'a-0', '10.0.0.1'), db, 5432), forwarded(3), dropped(3, 'egress'));
    expect(agg.result().connections.map((c) => c.source.name)).toEqual(['ns10/a', 'ns1/a', 'ns2/a']);
  });

  it('keeps memory bounded: connection, rule and sample limits are counted, not silently lost', () => {
    const agg = new DiffAggregator({ maxConnections: 2, maxRulesPerSide: 1, maxSamples: 2 });
    for (let i = 0; i < 10; i++) {
      agg.add(tcp(i, frontend1, db, 5000 + (i % 4)), forwarded(i, [rule('a.yaml', i)]), dropped(i, 'egress'));
    }
    const { flows, connections } = agg.result();
    expect(flows.changed).toBe(10);
    expect(connections).toHaveLength(2);
    const listed = connections.reduce((n, c) => n + c.flows, 0);
    expect(listed + flows.not_grouped).toBe(10);
    expect(connections[0]!.base.allowed_by).toHaveLength(1);
    expect(connections[0]!.base.rules_omitted).toBe(2);
    expect(connections[0]!.sample_flow_indexes).toHaveLength(2);
  });
});
