/**
 * fast-check generators of policy models and recordings over a small universe of parties, shaped so that selectors,
 * CIDRs, FQDN answers, named ports and L7 rules actually hit: the differential tests compare engines on them.
 */
import fc from 'fast-check';
import type { Entity, Peer, PolicyModel, PolicySpec, PortRule } from '../../pipeline/core/model/types.js';
import type { Flow, FlowEndpoint, FlowProtocol } from '../../pipeline/core/flow/types.js';
import { peer, pod, ports, reserved, sel, spec } from '../evaluate/model-builder.js';
import type { AuditScope, ServiceInfo } from '../../pipeline/core/evaluate/index.js';

const NAMED = [
  [{ name: 'http', port: 8080, protocol: 'TCP' as const }],
  [{ name: 'http', port: 9090, protocol: 'TCP' as const }, { name: 'dns', port: 53, protocol: 'UDP' as const }],
  [],
];

/** The parties flows run between. Two pods share labels with different named ports; one address is reused. */
export const UNIVERSE: readonly FlowEndpoint[] = [
  pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.1', name: 'web-1', namedPorts: NAMED[0] }),
  pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.2', name: 'web-2', namedPorts: NAMED[1] }),
  pod({ ns: 'default', labels: { app: 'api', tier: 'back' }, ip: '10.0.1.1', name: 'api-1', namedPorts: NAMED[1] }),
  pod({ ns: 'default', labels: { app: 'db', tier: 'back' }, ip: 'fd00::5', name: 'db-1' }),
  pod({ ns: 'other', labels: { app: 'web' }, ip: '10.1.0.1', name: 'web-o', nsLabels: { team: 'blue' } }),
  pod({ ns: 'other', labels: { app: 'api' }, ip: '10.0.0.2', name: 'api-reused' }),
  pod({ ns: 'default', labels: { app: 'web' }, ip: '', name: 'web-noip' }),
  reserved('host', '192.168.0.10'),
  reserved('remote-node', '192.168.0.11'),
  { kind: 'remote-node', ip: '192.168.0.12', labels: [{ source: 'reserved', key: 'remote-node', value: '' }, { source: 'k8s', key: 'zone', value: 'a' }] },
  { kind: 'host', ip: '192.168.0.13', labels: [{ source: 'reserved', key: 'host', value: '' }, { source: 'k8s', key: 'zone', value: 'a' }] },
  reserved('kube-apiserver', '192.168.0.1'),
  reserved('health', '10.0.9.9'),
  reserved('world', '1.2.3.4'),
  reserved('world', '8.8.8.8'),
  reserved('world', '93.184.216.34'),
  reserved('world', '10.2.0.7'),
  reserved('world', '2001:db8::1'),
  { kind: 'world', ip: '1.2.3.5', labels: [] },
  reserved('world', '10.96.0.20'),
];

/** Services for toServices peers: one by cluster IP and pod selector, one without selector. */
export const SERVICES: readonly ServiceInfo[] = [
  { namespace: 'default', name: 'api', labels: [{ source: 'k8s', key: 'svc', value: 'api' }], selector: { app: 'api' }, clusterIPs: ['10.96.0.20'] },
  { namespace: 'default', name: 'external', labels: [], selector: null, clusterIPs: ['1.2.3.4'] },
];

const NAMES = ['example.com', 'api.example.com', 'a.b.example.com', 'dns.google'];

const arbSelector = fc.oneof(
  fc.constantFrom(
    sel({ app: 'web' }, 'default'),
    sel({ app: 'api' }, 'default'),
    sel({ tier: 'back' }, 'default'),
    sel({}, 'default'),
    sel({ app: 'web' }),
    sel({}, 'other'),
    sel({ 'k8s:io.cilium.k8s.namespace.labels.team': 'blue' }),
    sel({ 'reserved:host': '' }),
    sel({ 'reserved:world': '' }),
    sel({ zone: 'a' }),
  ),
  fc.constant({ requirements: [{ source: 'any', key: 'app', operator: 'NotIn' as const, values: ['web'] }], pos: sel().pos }),
  fc.constant({ requirements: [{ source: 'any', key: 'tier', operator: 'DoesNotExist' as const, values: [] }], pos: sel().pos }),
);

const ENTITIES: Entity[] = ['world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'health', 'all', 'none'];

const arbPeer: fc.Arbitrary<Peer> = fc.oneof(
  arbSelector.map((s) => peer.endpoints(s)),
  fc.subarray(ENTITIES, { minLength: 1, maxLength: 2 }).map((e) => peer.entities(...e)),
  fc
    .record({
      cidr: fc.constantFrom('1.2.3.0/24', '0.0.0.0/0', '10.0.0.0/8', '8.8.8.8/32', '2001:db8::/32', '10.0.0.0/16'),
      except: fc.subarray(['1.2.3.4/32', '10.0.0.0/24', '10.2.0.0/16']),
      matchesPods: fc.boolean(),
    })
    .map(({ cidr, except, matchesPods }) => peer.cidr(cidr, except.filter((e) => e !== cidr && contains(cidr, e)), matchesPods)),
  fc.oneof(
    fc.constantFrom(...NAMES).map((n) => peer.fqdn({ matchName: n })),
    fc.constantFrom('*.example.com', '**.example.com', '*').map((p) => peer.fqdn({ matchPattern: p })),
  ),
  arbSelector.map((s) => peer.nodes(s)),
  fc.constantFrom(peer.service('api', 'default'), peer.service('external', 'default'), peer.service('missing', 'default')),
);

function contains(outer: string, inner: string): boolean {
  const v4 = (s: string) => s.split('/')[0]!.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  if (outer.includes(':') || inner.includes(':')) return false;
  const [, ob] = outer.split('/');
  const [, ib] = inner.split('/');
  const bits = Number(ob);
  if (Number(ib) < bits) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((v4(outer) & mask) >>> 0) === ((v4(inner) & mask) >>> 0);
}

const arbPortRule: fc.Arbitrary<PortRule> = fc
  .record({
    list: fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const), fc.constantFrom(53, 80, 443, 8080, 9090)),
        fc.tuple(fc.constantFrom('TCP' as const, 'UDP' as const), fc.constantFrom(0, 1000, 8000), fc.constantFrom(65535, 9000, 8081)),
        fc.tuple(fc.constantFrom('TCP' as const, 'UDP' as const), fc.constant(0), fc.constant(0), fc.constantFrom('http', 'dns')),
      ),
      { minLength: 0, maxLength: 3 },
    ),
    l7: fc.option(
      fc.oneof(
        fc.constant({ http: [{ method: 'GET', path: '/public.*', pos: sel().pos }] }),
        fc.constant({ dns: [{ matchPattern: '*.example.com', pos: sel().pos }] }),
      ),
      { freq: 4 },
    ),
  })
  .map(({ list, l7 }) => ports(list.map((t) => (t.length === 2 ? [t[0], t[1]] : t.length === 3 ? [t[0], Math.min(t[1], t[2]), Math.max(t[1], t[2])] : [t[0], 0, 0, t[3]])) as never, l7 ?? undefined));

const arbRule = fc
  .record({
    direction: fc.constantFrom('ingress' as const, 'egress' as const),
    action: fc.constantFrom('allow' as const, 'allow' as const, 'deny' as const),
    peers: fc.option(fc.array(arbPeer, { minLength: 0, maxLength: 2 }), { freq: 4 }),
    ports: fc.option(fc.array(arbPortRule, { minLength: 1, maxLength: 2 }), { freq: 2 }),
    // Mostly without ICMP (a rule with only ICMP matches no TCP/UDP flow), sometimes with.
    icmps: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      { arbitrary: fc.array(fc.record({ family: fc.constantFrom(4 as const, 6 as const), type: fc.constantFrom(0, 8, 128) }), { minLength: 1, maxLength: 2 }), weight: 1 },
    ),
  })
  .map((r) => ({
    ...r,
    ports: r.action === 'deny' && r.ports ? r.ports.map((p) => ({ ...p, l7: undefined }) as PortRule) : r.ports,
  }));

/** Node selectors of host policies: every node, by node label, by reserved identity. */
const arbNodeSelector = fc.constantFrom(sel({}), sel({ zone: 'a' }), sel({ 'reserved:host': '' }), sel({ 'reserved:remote-node': '' }), sel({ zone: 'b' }));

const arbSpec = fc
  .record({
    kind: fc.constantFrom('CiliumNetworkPolicy' as const, 'CiliumClusterwideNetworkPolicy' as const, 'NetworkPolicy' as const),
    subject: arbSelector,
    // Sometimes a host policy (CCNP nodeSelector) instead.
    nodeSubject: fc.option(arbNodeSelector, { freq: 4 }),
    rules: fc.array(arbRule, { minLength: 1, maxLength: 5 }),
    ddIngress: fc.option(fc.boolean(), { freq: 3 }),
    ddEgress: fc.option(fc.boolean(), { freq: 3 }),
  })
  .map((s, i) => s);

/** A policy model of up to `max` specs. */
export function arbModel(max = 4): fc.Arbitrary<PolicyModel> {
  return fc.array(arbSpec, { minLength: 0, maxLength: max }).map((specs) => ({
    specs: specs.map((s, i): PolicySpec => {
      const host = s.nodeSubject !== null;
      const built = spec({
        kind: host ? 'CiliumClusterwideNetworkPolicy' : s.kind,
        name: `p${i}`,
        subject: s.nodeSubject ?? s.subject,
        // Host policies carry no L7 rules (validation rejects them).
        rules: s.rules.map((r, j) => ({ ...r, ...(host && r.ports ? { ports: r.ports.map((p) => ({ ...p, l7: undefined }) as PortRule) } : {}), line: 10 + j })),
        defaultDeny: {
          ...(s.ddIngress !== null ? { ingress: s.ddIngress } : {}),
          ...(s.ddEgress !== null ? { egress: s.ddEgress } : {}),
        },
      });
      return host ? { ...built, subjectKind: 'nodes' } : built;
    }),
    skipped: {},
  }));
}

const arbProtocol: fc.Arbitrary<FlowProtocol> = fc.constantFrom('TCP', 'TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6');

/** A recording of up to `max` flows between parties of the universe, some carrying DNS answers and HTTP requests. */
export function arbFlows(max = 30): fc.Arbitrary<Flow[]> {
  const arbFlow = fc.record({
    src: fc.nat(UNIVERSE.length - 1),
    dst: fc.nat(UNIVERSE.length - 1),
    protocol: arbProtocol,
    dstPort: fc.constantFrom(53, 80, 443, 1000, 8080, 8081, 9090, 0),
    icmpType: fc.constantFrom(0, 8, 128, 129, 3, 135),
    isReply: fc.boolean(),
    dns: fc.option(fc.record({ query: fc.constantFrom(...NAMES), ips: fc.subarray(['1.2.3.4', '8.8.8.8', '93.184.216.34', '2001:db8::1', '10.2.0.7', '10.0.0.1', '10.96.0.20']) }), { freq: 4 }),
    http: fc.option(fc.record({ method: fc.constantFrom('GET', 'POST'), path: fc.constantFrom('/public/a', '/private') }), { freq: 4 }),
  });
  return fc.array(arbFlow, { minLength: 1, maxLength: max }).map((list) =>
    list.map((f, index): Flow => {
      const icmp = f.protocol === 'ICMPv4' || f.protocol === 'ICMPv6';
      const src = UNIVERSE[f.src]!;
      // Two live parties never share an address at the same moment: a flow between them would be meaningless.
      // Mixed-family flows stay in: the engines must judge them as the reference does (stand-in addresses).
      const dst = UNIVERSE[f.dst]!.ip === src.ip && src.ip !== '' ? src : UNIVERSE[f.dst]!;
      return {
        index,
        src,
        dst,
        protocol: f.protocol,
        ...(icmp ? { icmpType: f.icmpType, icmpCode: 0 } : { srcPort: 40000 + index, dstPort: f.dstPort }),
        isReply: f.isReply,
        ...(f.dns && !icmp ? { dns: f.dns } : {}),
        ...(f.http && f.protocol === 'TCP' ? { http: { method: f.http.method, url: `http://svc${f.http.path}`, headers: [] } } : {}),
      };
    }),
  );
}

/** Every audit scope the engines take: all endpoints, and the namespaces of the generated pods (or none). */
export const arbAuditScope: fc.Arbitrary<AuditScope> = fc.constantFrom<AuditScope>(
  { kind: 'all' },
  { kind: 'namespaces', namespaces: ['default'] },
  { kind: 'namespaces', namespaces: ['other'] },
  { kind: 'namespaces', namespaces: [] },
);
