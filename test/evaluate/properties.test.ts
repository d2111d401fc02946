/**
 * Properties of the reference evaluator over generated policies and flows (fast-check, fixed seeds so failures
 * reproduce): allow rules only ever add reachability, deny rules only ever remove it, and without DNS learning the
 * verdict of a flow does not depend on the order of the recording.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluator, DnsCache } from '../../pipeline/core/evaluate/index.js';
import type { Flow, FlowEndpoint } from '../../pipeline/core/flow/types.js';
import type { Entity, Peer, PolicyModel, PolicyRule, PolicySpec, PortRule } from '../../pipeline/core/model/types.js';
import { flow, peer, pod, ports, reserved, sel, spec } from './model-builder.js';

const NS = ['x', 'y'] as const;
const APPS = ['a', 'b', 'c'] as const;
const ENDPOINTS: FlowEndpoint[] = [
  ...NS.flatMap((ns, i) =>
    APPS.map((app, j) => pod({ ns, labels: { app }, ip: `10.0.${i}.${j + 1}`, namedPorts: [{ name: 'web', port: 8080, protocol: 'TCP' }] })),
  ),
  reserved('world', '8.8.8.8'),
  reserved('world', '10.9.0.1'),
  reserved('host', '192.168.0.1'),
  reserved('remote-node', '192.168.0.2'),
];

const selector = fc.record({ app: fc.option(fc.constantFrom(...APPS), { nil: undefined }), ns: fc.option(fc.constantFrom(...NS), { nil: undefined }) });
const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  selector.map((s) => peer.endpoints(sel(s.app ? { app: s.app } : {}, s.ns))),
  fc.subarray<Entity>(['world', 'cluster', 'host', 'remote-node', 'all'], { minLength: 1 }).map((e) => peer.entities(...e)),
  fc.record({ cidr: fc.constantFrom('10.0.0.0/16', '10.0.1.0/24', '8.0.0.0/8', '0.0.0.0/0'), pods: fc.boolean(), except: fc.boolean() }).map((c) =>
    peer.cidr(c.cidr, c.except ? ['10.0.1.2/32'] : [], c.pods),
  ),
);
const portArb: fc.Arbitrary<PortRule> = fc.oneof(
  fc.record({ p: fc.constantFrom('TCP', 'UDP', 'SCTP') as fc.Arbitrary<'TCP' | 'UDP' | 'SCTP'>, from: fc.constantFrom(53, 80, 443, 8080), span: fc.constantFrom(0, 10) }).map((r) =>
    ports([[r.p, r.from, r.from + r.span]]),
  ),
  fc.constant(ports([['TCP', 0, 0, 'web']])),
);
const ruleArb = fc.record({
  direction: fc.constantFrom('ingress', 'egress') as fc.Arbitrary<'ingress' | 'egress'>,
  peers: fc.option(fc.array(peerArb, { maxLength: 2 }), { nil: null }),
  ports: fc.option(fc.array(portArb, { minLength: 1, maxLength: 2 }), { nil: null }),
  icmp: fc.boolean(),
});
const specArb = fc.record({
  subject: selector,
  clusterwide: fc.boolean(),
  allows: fc.array(ruleArb, { maxLength: 3 }),
  denies: fc.array(ruleArb, { maxLength: 1 }),
});

let specCounter = 0;
function buildSpec(s: fc.Infer<typeof specArb>): PolicySpec {
  const rules = [
    ...s.allows.map((r) => ({ ...r, action: 'allow' as const })),
    ...s.denies.map((r) => ({ ...r, action: 'deny' as const })),
  ].map((r) => ({
    direction: r.direction,
    action: r.action,
    peers: r.peers,
    ports: r.icmp ? null : r.ports,
    icmps: r.icmp ? [{ family: 4 as const, type: 8 }] : null,
  }));
  return spec({
    kind: s.clusterwide ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy',
    name: `p${specCounter++}`,
    namespace: s.clusterwide ? null : (s.subject.ns ?? 'x'),
    subject: sel(s.subject.app ? { app: s.subject.app } : {}, s.clusterwide ? s.subject.ns : (s.subject.ns ?? 'x')),
    rules,
  });
}

const flowArb: fc.Arbitrary<Flow> = fc
  .record({
    src: fc.nat(ENDPOINTS.length - 1),
    dst: fc.nat(ENDPOINTS.length - 1),
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ICMPv4') as fc.Arbitrary<Flow['protocol']>,
    port: fc.constantFrom(53, 80, 85, 443, 8080, 9000),
    reply: fc.boolean(),
  })
  .map((f) => flow(ENDPOINTS[f.src]!, ENDPOINTS[f.dst]!, { protocol: f.protocol, dstPort: f.protocol === 'ICMPv4' ? undefined : f.port, icmpType: f.protocol === 'ICMPv4' ? 8 : undefined, isReply: f.reply }));

function verdicts(model: PolicyModel, flows: readonly Flow[]): string[] {
  const ev = createEvaluator(model);
  const dns = new DnsCache();
  return flows.map((f) => ev.judge(f, dns).verdict);
}

/** The same spec with one more rule, its default-deny flags unchanged. */
function withRule(s: PolicySpec, r: fc.Infer<typeof ruleArb>, action: 'allow' | 'deny'): PolicySpec {
  const extra = spec({ name: s.policy.name, subject: s.subject, rules: [{ direction: r.direction, action, peers: r.peers, ports: r.icmp ? null : r.ports, icmps: r.icmp ? [{ family: 4, type: 8 }] : null }] }).rules[0]!;
  const rule: PolicyRule = { ...extra, id: `${s.policy.name}/added/${action}` };
  return { ...s, rules: [...s.rules, rule] };
}

const runs = { numRuns: 300, seed: 20261128 };

describe('evaluator properties', () => {
  it('adding an allow rule never turns FORWARDED into DROPPED', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 4 }), fc.nat(), ruleArb, fc.array(flowArb, { minLength: 1, maxLength: 20 }), (specs, pick, rule, flows) => {
        const built = specs.map(buildSpec);
        const target = pick % built.length;
        const before = verdicts({ specs: built, skipped: {} }, flows);
        const after = verdicts({ specs: built.map((s, i) => (i === target ? withRule(s, rule, 'allow') : s)), skipped: {} }, flows);
        before.forEach((v, i) => {
          if (v === 'FORWARDED') expect(after[i]).toBe('FORWARDED');
        });
      }),
      runs,
    );
  });

  it('adding a deny rule (to a policy, or as a new policy) never turns DROPPED into FORWARDED', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 4 }), fc.nat(), ruleArb, fc.boolean(), fc.array(flowArb, { minLength: 1, maxLength: 20 }), (specs, pick, rule, asNew, flows) => {
        const built = specs.map(buildSpec);
        const before = verdicts({ specs: built, skipped: {} }, flows);
        let changed: PolicySpec[];
        if (asNew) {
          changed = [...built, buildSpec({ subject: { app: undefined, ns: undefined }, clusterwide: true, allows: [], denies: [rule] })];
        } else {
          const target = pick % built.length;
          changed = built.map((s, i) => (i === target ? withRule(s, rule, 'deny') : s));
        }
        const after = verdicts({ specs: changed, skipped: {} }, flows);
        before.forEach((v, i) => {
          if (v === 'DROPPED') expect(after[i]).toBe('DROPPED');
        });
      }),
      runs,
    );
  });

  it('without DNS answers, the order of the recording does not change any verdict', () => {
    fc.assert(
      fc.property(fc.array(specArb, { maxLength: 4 }), fc.array(flowArb, { minLength: 2, maxLength: 30 }), fc.func(fc.integer()), (specs, flows, key) => {
        const model = { specs: specs.map(buildSpec), skipped: {} };
        const indexed = flows.map((f, i) => ({ ...f, index: i }));
        const shuffled = [...indexed].sort((a, b) => key(a.index) - key(b.index) || a.index - b.index);
        const ev1 = createEvaluator(model);
        const ev2 = createEvaluator(model);
        const inOrder = new Map(indexed.map((f) => [f.index, JSON.stringify(ev1.judge(f, new DnsCache()))]));
        for (const f of shuffled) expect(JSON.stringify(ev2.judge(f, new DnsCache()))).toBe(inOrder.get(f.index));
      }),
      runs,
    );
  });

  it('DNS learning is the only order dependence: an FQDN rule allows a flow only after its answer', () => {
    const model = { specs: [spec({ name: 'f', subject: sel({ app: 'a' }, 'x'), rules: [{ direction: 'egress', peers: [peer.fqdn({ matchPattern: '*.example.com' })] }] })], skipped: {} };
    const client = ENDPOINTS[0]!;
    const target = reserved('world', '93.184.216.34');
    const answer = flow(ENDPOINTS[5]!, client, { protocol: 'UDP', srcPort: 53, dstPort: 5000, isReply: true, dns: { query: 'www.example.com.', ips: ['93.184.216.34'] } });
    const connect = flow(client, target, { dstPort: 443 });
    const run = (order: Flow[]) => {
      const ev = createEvaluator(model);
      const dns = new DnsCache();
      return order.map((f) => {
        const v = ev.judge(f, dns);
        dns.observe(f);
        return `${f === connect ? 'connect' : 'answer'}:${v.verdict}`;
      });
    };
    expect(run([answer, connect])).toContain('connect:FORWARDED');
    expect(run([connect, answer])).toContain('connect:DROPPED');
  });
});
