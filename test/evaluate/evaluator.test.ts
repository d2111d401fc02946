import { describe, expect, it } from 'vitest';
import { createEvaluator, DnsCache } from '../../pipeline/core/evaluate/index.js';
import type { Flow } from '../../pipeline/core/flow/types.js';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import { flow, model, peer, pod, ports, reserved, sel, spec } from './model-builder.js';

const web = pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.1', namedPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
const api = pod({
  ns: 'default',
  labels: { app: 'api' },
  ip: '10.0.0.2',
  namedPorts: [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'dns', port: 5353, protocol: 'UDP' },
  ],
});
const other = pod({ ns: 'other', labels: { app: 'web' }, ip: '10.0.1.1', nsLabels: { team: 'blue' } });
const world = reserved('world', '1.2.3.4');
const host = reserved('host', '192.168.0.10');
const remoteNode = reserved('remote-node', '192.168.0.11');

function judge(m: PolicyModel, f: Flow, dns = new DnsCache()) {
  return createEvaluator(m).judge(f, dns);
}

const apiIngressFromWeb = spec({
  name: 'api-from-web',
  subject: sel({ app: 'api' }, 'default'),
  rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports([['TCP', 80]])], line: 7 }],
});

describe('enforcement points and default deny', () => {
  it('allows everything with no policy, with empty attribution', () => {
    const v = judge(model(), flow(web, api));
    expect(v).toEqual({ index: v.index, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: [], denied_by: [] });
  });

  it('allows a flow an ingress rule matches and names the rule with file and line', () => {
    const v = judge(model(apiIngressFromWeb), flow(web, api));
    expect(v.verdict).toBe('FORWARDED');
    expect(v.allowed_by).toEqual([
      {
        kind: 'CiliumNetworkPolicy',
        namespace: 'default',
        name: 'api-from-web',
        rule: 'CiliumNetworkPolicy/default/api-from-web/0/ingress/0',
        file: 'policies/test.yaml',
        line: 7,
      },
    ]);
  });

  it('drops with POLICY_DENIED at ingress when default-deny is active and nothing allows', () => {
    const v = judge(model(apiIngressFromWeb), flow(other, api));
    expect(v).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', dropped_at: 'ingress', denied_by: [] });
  });

  it('does not enforce the direction a policy does not mention', () => {
    // api has ingress policy only; its egress to anything is allowed.
    expect(judge(model(apiIngressFromWeb), flow(api, world)).verdict).toBe('FORWARDED');
  });

  it('checks egress before ingress', () => {
    const webEgressNone = spec({ name: 'web-egress', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [] }] });
    const v = judge(model(apiIngressFromWeb, webEgressNone), flow(web, api, { dstPort: 81 }));
    expect(v).toMatchObject({ verdict: 'DROPPED', dropped_at: 'egress', drop_reason: 'POLICY_DENIED' });
  });

  it('needs both the source egress and the destination ingress', () => {
    const webEgressToApi = spec({
      name: 'web-egress',
      subject: sel({ app: 'web' }, 'default'),
      rules: [{ direction: 'egress', peers: [peer.endpoints(sel({ app: 'api' }, 'default'))] }],
    });
    const v = judge(model(apiIngressFromWeb, webEgressToApi), flow(web, api));
    expect(v.verdict).toBe('FORWARDED');
    expect(v.allowed_by.map((r) => r.name)).toEqual(['api-from-web', 'web-egress']);
    // egress allows, ingress does not (port 81)
    expect(judge(model(apiIngressFromWeb, webEgressToApi), flow(web, api, { dstPort: 81 }))).toMatchObject({
      dropped_at: 'ingress',
      allowed_by: [{ name: 'web-egress' }],
    });
  });

  it('a deny-only policy flips the direction to default-deny', () => {
    const denyOnly = spec({
      name: 'deny-world',
      subject: sel({ app: 'web' }, 'default'),
      rules: [{ direction: 'egress', action: 'deny', peers: [peer.entities('world')] }],
    });
    expect(judge(model(denyOnly), flow(web, api))).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', dropped_at: 'egress' });
    expect(judge(model(denyOnly), flow(web, world))).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENY' });
  });

  it('enableDefaultDeny false keeps the direction open but deny rules still apply', () => {
    const denyOnly = spec({
      name: 'deny-world',
      subject: sel({ app: 'web' }, 'default'),
      defaultDeny: { egress: false },
      rules: [{ direction: 'egress', action: 'deny', peers: [peer.entities('world')] }],
    });
    expect(judge(model(denyOnly), flow(web, api)).verdict).toBe('FORWARDED');
    expect(judge(model(denyOnly), flow(web, world))).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENY', dropped_at: 'egress' });
  });

  it('enforces only on pods: world and host sources have no egress policy', () => {
    const allowWorld = spec({ name: 'w', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.entities('world')] }] });
    expect(judge(model(allowWorld), flow(world, api)).verdict).toBe('FORWARDED');
    expect(judge(model(allowWorld), flow(remoteNode, api)).drop_reason).toBe('POLICY_DENIED');
  });

  it('the subject of a namespaced policy does not reach other namespaces', () => {
    const p = spec({ name: 'lock', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'ingress', peers: [] }] });
    expect(judge(model(p), flow(api, other)).verdict).toBe('FORWARDED');
    expect(judge(model(p), flow(api, web)).verdict).toBe('DROPPED');
  });
});

describe('deny beats allow', () => {
  const allowAll = spec({ name: 'allow-all', subject: sel({}, 'default'), rules: [{ direction: 'ingress', peers: [peer.entities('all')] }] });
  const denyWeb = spec({
    kind: 'CiliumClusterwideNetworkPolicy',
    name: 'deny-web',
    subject: sel({ app: 'api' }),
    rules: [{ direction: 'ingress', action: 'deny', peers: [peer.endpoints(sel({ app: 'web' }))], ports: [ports([['TCP', 80]])] }],
  });
  it('an explicit deny drops with POLICY_DENY and names the deny rule', () => {
    const v = judge(model(allowAll, denyWeb), flow(web, api));
    expect(v).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENY', dropped_at: 'ingress', allowed_by: [] });
    expect(v.denied_by).toEqual([expect.objectContaining({ kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name: 'deny-web' })]);
  });
  it('the deny is limited to its ports', () => {
    expect(judge(model(allowAll, denyWeb), flow(web, api, { dstPort: 443 })).verdict).toBe('FORWARDED');
  });
  it('deny wins over an exemption (self traffic)', () => {
    const denySelf = spec({
      name: 'deny-self',
      subject: sel({ app: 'api' }, 'default'),
      rules: [{ direction: 'egress', action: 'deny', peers: [peer.endpoints(sel({ app: 'api' }, 'default'))] }],
    });
    expect(judge(model(denySelf), flow(api, api))).toMatchObject({ verdict: 'DROPPED', drop_reason: 'POLICY_DENY' });
  });
});

describe('exemptions', () => {
  const lockApi = spec({
    name: 'lock',
    subject: sel({ app: 'api' }, 'default'),
    rules: [
      { direction: 'ingress', peers: [] },
      { direction: 'egress', peers: [] },
    ],
  });
  it('a pod reaching its own IP is allowed', () => {
    expect(judge(model(lockApi), flow(api, api)).verdict).toBe('FORWARDED');
  });
  it('the local host may reach local pods (ingress), remote nodes may not', () => {
    expect(judge(model(lockApi), flow(host, api)).verdict).toBe('FORWARDED');
    expect(judge(model(lockApi), flow(remoteNode, api)).verdict).toBe('DROPPED');
  });
  it('the exemption is not for egress to the host', () => {
    expect(judge(model(lockApi), flow(api, host)).dropped_at).toBe('egress');
  });
});

describe('entities', () => {
  const allow = (...e: Parameters<typeof peer.entities>) =>
    model(spec({ name: 'e', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.entities(...e)] }] }));
  it.each([
    ['world', world, true],
    ['world', api, false],
    ['world', host, false],
    ['cluster', api, true],
    ['cluster', host, true],
    ['cluster', remoteNode, true],
    ['cluster', world, false],
    ['host', host, true],
    ['host', remoteNode, false],
    ['remote-node', remoteNode, true],
    ['all', world, true],
    ['all', api, true],
    ['none', api, false],
    ['world-ipv4', world, true],
    ['world-ipv6', world, false],
    ['world-ipv6', reserved('world', '2001:db8::1'), true],
    ['kube-apiserver', reserved('kube-apiserver', '10.96.0.1'), true],
    ['health', reserved('health', '10.0.0.200'), true],
  ] as const)('%s vs %o', (entity, dst, allowed) => {
    expect(judge(allow(entity), flow(web, dst)).verdict).toBe(allowed ? 'FORWARDED' : 'DROPPED');
  });
});

describe('CIDR peers', () => {
  const cilium = model(
    spec({ name: 'c', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.cidr('10.0.0.0/8', ['10.0.2.0/24'])] }] }),
  );
  const knp = model(
    spec({
      kind: 'NetworkPolicy',
      name: 'k',
      subject: sel({ app: 'web' }, 'default'),
      rules: [{ direction: 'egress', peers: [peer.cidr('10.0.0.0/8', ['10.0.2.0/24'], true)] }],
    }),
  );
  it('Cilium CIDR rules match world addresses only', () => {
    expect(judge(cilium, flow(web, reserved('world', '10.9.9.9'))).verdict).toBe('FORWARDED');
    expect(judge(cilium, flow(web, api)).verdict).toBe('DROPPED');
  });
  it('NetworkPolicy ipBlock matches pod addresses too', () => {
    expect(judge(knp, flow(web, api)).verdict).toBe('FORWARDED');
  });
  it('except carves out of the block', () => {
    expect(judge(cilium, flow(web, reserved('world', '10.0.2.7'))).verdict).toBe('DROPPED');
    expect(judge(knp, flow(web, pod({ ns: 'x', ip: '10.0.2.7' }))).verdict).toBe('DROPPED');
  });
  it('addresses outside the block and of the other family do not match', () => {
    expect(judge(cilium, flow(web, reserved('world', '11.0.0.1'))).verdict).toBe('DROPPED');
    expect(judge(cilium, flow(web, reserved('world', '::ffff:10.0.0.1'))).verdict).toBe('DROPPED');
  });
  it('IPv6 prefixes', () => {
    const m = model(spec({ name: 'c6', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.cidr('2001:db8::/32')] }] }));
    expect(judge(m, flow(web, reserved('world', '2001:db8:1::5'))).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, reserved('world', '2001:db9::5'))).verdict).toBe('DROPPED');
  });
});

describe('selectors', () => {
  it('reserved identities match endpoint selectors only when they name reserved labels', () => {
    const all = model(spec({ kind: 'CiliumClusterwideNetworkPolicy', name: 'a', subject: sel({ app: 'api' }), rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({}))] }] }));
    expect(judge(all, flow(web, api)).verdict).toBe('FORWARDED');
    expect(judge(all, flow(other, api)).verdict).toBe('FORWARDED');
    expect(judge(all, flow(remoteNode, api)).verdict).toBe('DROPPED');
    const hostSel = model(
      spec({ name: 'h', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ 'reserved:remote-node': '' }))] }] }),
    );
    expect(judge(hostSel, flow(remoteNode, api)).verdict).toBe('FORWARDED');
  });
  it('namespace labels select peers in other namespaces', () => {
    const m = model(
      spec({
        name: 'ns',
        subject: sel({ app: 'api' }, 'default'),
        rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ 'k8s:io.cilium.k8s.namespace.labels.team': 'blue' }))] }],
      }),
    );
    expect(judge(m, flow(other, api)).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, api)).verdict).toBe('DROPPED');
  });
  it('NotIn and DoesNotExist match when the key is absent; In and Exists do not', () => {
    const mk = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist') =>
      model(
        spec({
          name: operator,
          subject: sel({ app: 'api' }, 'default'),
          rules: [
            {
              direction: 'ingress',
              peers: [peer.endpoints(sel({}, 'default', [{ source: 'any', key: 'tier', operator, values: operator === 'In' || operator === 'NotIn' ? ['db'] : [] }]))],
            },
          ],
        }),
      );
    expect(judge(mk('NotIn'), flow(web, api)).verdict).toBe('FORWARDED');
    expect(judge(mk('DoesNotExist'), flow(web, api)).verdict).toBe('FORWARDED');
    expect(judge(mk('In'), flow(web, api)).verdict).toBe('DROPPED');
    expect(judge(mk('Exists'), flow(web, api)).verdict).toBe('DROPPED');
    const db = pod({ ns: 'default', labels: { tier: 'db' }, ip: '10.0.0.9' });
    expect(judge(mk('NotIn'), flow(db, api)).verdict).toBe('DROPPED');
    expect(judge(mk('In'), flow(db, api)).verdict).toBe('FORWARDED');
  });
  it('a source-qualified key does not match another source', () => {
    const m = model(spec({ name: 's', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ 'unspec:app': 'web' }, 'default'))] }] }));
    expect(judge(m, flow(web, api)).verdict).toBe('DROPPED');
  });
});

describe('ports and protocols', () => {
  const mk = (p: ReturnType<typeof ports>[] | null, icmps: { family: 4 | 6; type: number }[] | null = null) =>
    model(spec({ name: 'p', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: null, ports: p, icmps }] }));
  it('matches protocol and port exactly', () => {
    const m = mk([ports([['UDP', 53]])]);
    expect(judge(m, flow(web, api, { protocol: 'UDP', dstPort: 53 })).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, api, { protocol: 'TCP', dstPort: 53 })).verdict).toBe('DROPPED');
    expect(judge(m, flow(web, api, { protocol: 'UDP', dstPort: 54 })).verdict).toBe('DROPPED');
  });
  it('ranges are inclusive', () => {
    const m = mk([ports([['TCP', 8000, 8080]])]);
    for (const [p, ok] of [[7999, false], [8000, true], [8080, true], [8081, false]] as const) {
      expect(judge(m, flow(web, api, { dstPort: p })).verdict).toBe(ok ? 'FORWARDED' : 'DROPPED');
    }
  });
  it('SCTP is its own protocol', () => {
    const m = mk([ports([['SCTP', 80]])]);
    expect(judge(m, flow(web, api, { protocol: 'SCTP' })).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, api)).verdict).toBe('DROPPED');
  });
  it('named ports resolve on the destination pod with name and protocol', () => {
    const m = mk([ports([['TCP', 0, 0, 'http']])]);
    expect(judge(m, flow(web, api, { dstPort: 8080 })).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, api, { dstPort: 80 })).verdict).toBe('DROPPED');
    const udpName = mk([ports([['TCP', 0, 0, 'dns']])]);
    expect(judge(udpName, flow(web, api, { dstPort: 5353 })).verdict).toBe('DROPPED');
    // egress named ports resolve on the destination too
    const eg = model(spec({ name: 'e', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', ports: [ports([['UDP', 0, 0, 'dns']])] }] }));
    expect(judge(eg, flow(web, api, { protocol: 'UDP', dstPort: 5353 })).verdict).toBe('FORWARDED');
    expect(judge(eg, flow(web, world, { protocol: 'UDP', dstPort: 5353 })).verdict).toBe('DROPPED');
  });
  it('a port rule does not admit ICMP; an ICMP rule admits only its types', () => {
    const tcp = mk([ports([['TCP', 0, 65535]])]);
    expect(judge(tcp, flow(web, api, { protocol: 'ICMPv4', icmpType: 8, dstPort: undefined })).verdict).toBe('DROPPED');
    const icmp = mk(null, [{ family: 4, type: 8 }]);
    expect(judge(icmp, flow(web, api, { protocol: 'ICMPv4', icmpType: 8 })).verdict).toBe('FORWARDED');
    expect(judge(icmp, flow(web, api, { protocol: 'ICMPv4', icmpType: 13 })).verdict).toBe('DROPPED');
    expect(judge(icmp, flow(web, api, { protocol: 'ICMPv6', icmpType: 8 })).verdict).toBe('DROPPED');
    expect(judge(icmp, flow(web, api)).verdict).toBe('DROPPED');
  });
  it('a rule with neither ports nor ICMP admits every protocol', () => {
    const any = mk(null);
    for (const protocol of ['TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6'] as const) {
      expect(judge(any, flow(web, api, { protocol })).verdict).toBe('FORWARDED');
    }
  });
});

describe('L7 HTTP', () => {
  const m = model(
    spec({
      name: 'http',
      subject: sel({ app: 'api' }, 'default'),
      rules: [
        {
          direction: 'ingress',
          peers: [peer.endpoints(sel({ app: 'web' }, 'default'))],
          ports: [ports([['TCP', 80]], { http: [{ method: 'GET', path: '/v1/.*', pos: { file: 'x', line: 1, col: 1 } }, { method: 'POST', path: '/submit', headers: ['X-Token secret', 'X-Trace'], pos: { file: 'x', line: 1, col: 1 } }] })],
        },
      ],
    }),
  );
  const http = (method: string, url: string, headers: [string, string][] = []) => ({ method, url, headers: headers.map(([key, value]) => ({ key, value })) });
  it('hands the flow to the proxy and allows a matching request', () => {
    const v = judge(m, flow(web, api, { http: http('GET', 'http://api/v1/items?x=1') }));
    expect(v).toMatchObject({ verdict: 'FORWARDED', l7: 'proxy' });
    expect(v.allowed_by).toHaveLength(1);
  });
  it('method and path are full-string matches; the path includes the query', () => {
    expect(judge(m, flow(web, api, { http: http('GETX', 'http://api/v1/a') })).verdict).toBe('DROPPED');
    expect(judge(m, flow(web, api, { http: http('GET', 'http://api/v2/v1/a') })).verdict).toBe('DROPPED');
    expect(judge(m, flow(web, api, { http: http('POST', 'http://api/submit?x=1', [['X-Token', 'secret'], ['X-Trace', '1']]) })).verdict).toBe('DROPPED');
  });
  it('headers: a name must be present, a name and value must match exactly', () => {
    expect(judge(m, flow(web, api, { http: http('POST', 'http://api/submit', [['x-token', 'secret'], ['X-Trace', '']]) })).verdict).toBe('FORWARDED');
    expect(judge(m, flow(web, api, { http: http('POST', 'http://api/submit', [['X-Token', 'secret2'], ['X-Trace', '1']]) })).verdict).toBe('DROPPED');
    expect(judge(m, flow(web, api, { http: http('POST', 'http://api/submit', [['X-Token', 'secret']]) })).verdict).toBe('DROPPED');
  });
  it('an L7 drop is POLICY_DENIED at the proxy direction and keeps l7: proxy', () => {
    expect(judge(m, flow(web, api, { http: http('DELETE', 'http://api/v1/a') }))).toMatchObject({
      verdict: 'DROPPED',
      drop_reason: 'POLICY_DENIED',
      dropped_at: 'ingress',
      l7: 'proxy',
    });
  });
  it('an L4 flow without a request is forwarded to the proxy', () => {
    expect(judge(m, flow(web, api))).toMatchObject({ verdict: 'FORWARDED', l7: 'proxy' });
  });
  it('a plain allow of the same traffic allows every request', () => {
    const plain = spec({ name: 'plain', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.entities('cluster')], ports: [ports([['TCP', 80]])] }] });
    const v = judge(model(...m.specs, plain), flow(web, api, { http: http('DELETE', 'http://api/v1/a') }));
    expect(v).toMatchObject({ verdict: 'FORWARDED', l7: 'proxy', allowed_by: [{ name: 'plain' }] });
  });
  it('host matches the URL host', () => {
    const hm = model(
      spec({
        name: 'h',
        subject: sel({ app: 'web' }, 'default'),
        rules: [{ direction: 'egress', ports: [ports([['TCP', 80]], { http: [{ host: 'api\\.example\\.com', pos: { file: 'x', line: 1, col: 1 } }] })] }],
      }),
    );
    expect(judge(hm, flow(web, world, { http: http('GET', 'http://api.example.com/') })).verdict).toBe('FORWARDED');
    expect(judge(hm, flow(web, world, { http: http('GET', 'http://evil.example.com/') })).verdict).toBe('DROPPED');
  });
});

describe('toFQDNs and the DNS cache', () => {
  const mk = (f: { matchName?: string; matchPattern?: string }) =>
    createEvaluator(model(spec({ name: 'f', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.fqdn(f)] }] })));
  const answer = (query: string, ips: string[]): Flow => flow(api, web, { protocol: 'UDP', srcPort: 53, dstPort: 40000, isReply: true, dns: { query, ips } });

  it('uses only answers seen before the flow', () => {
    const ev = mk({ matchName: 'api.example.com' });
    const dns = new DnsCache();
    expect(ev.judge(flow(web, reserved('world', '93.184.216.34')), dns).verdict).toBe('DROPPED');
    dns.observe(answer('API.example.com.', ['93.184.216.34']));
    expect(ev.judge(flow(web, reserved('world', '93.184.216.34')), dns).verdict).toBe('FORWARDED');
    expect(ev.judge(flow(web, reserved('world', '93.184.216.35')), dns).verdict).toBe('DROPPED');
  });
  it.each([
    [{ matchPattern: '*.example.com' }, 'a.example.com', true],
    [{ matchPattern: '*.example.com' }, 'a.b.example.com', false],
    [{ matchPattern: '*.example.com' }, 'example.com', false],
    [{ matchPattern: '**.example.com' }, 'a.b.example.com', true],
    [{ matchPattern: '**.example.com' }, 'example.com', false],
    [{ matchPattern: 'ap*.example.com' }, 'api.example.com', true],
    [{ matchPattern: '*' }, 'anything.at.all', true],
    [{ matchName: 'example.com' }, 'Example.COM.', true],
    [{ matchName: 'example.com' }, 'www.example.com', false],
  ])('%o vs %s', (f, name, ok) => {
    const dns = new DnsCache();
    dns.learn(name, ['8.8.4.4']);
    expect(mk(f).judge(flow(web, reserved('world', '8.8.4.4')), dns).verdict).toBe(ok ? 'FORWARDED' : 'DROPPED');
  });
  it('L7 DNS rules decide DNS requests', () => {
    const m = model(
      spec({
        name: 'dns',
        subject: sel({ app: 'web' }, 'default'),
        rules: [{ direction: 'egress', ports: [ports([['UDP', 53]], { dns: [{ matchPattern: '*.svc.cluster.local', pos: { file: 'x', line: 1, col: 1 } }] })] }],
      }),
    );
    const q = (query: string) => flow(web, api, { protocol: 'UDP', dstPort: 53, dns: { query, ips: [] } });
    expect(judge(m, q('db.default.svc.cluster.local.'))).toMatchObject({ verdict: 'DROPPED', l7: 'proxy' });
    expect(judge(m, q('db.svc.cluster.local.'))).toMatchObject({ verdict: 'FORWARDED', l7: 'proxy' });
  });
});

describe('replies', () => {
  it('a reply gets the verdict of the connection it answers, under its own index', () => {
    const lock = model(apiIngressFromWeb);
    const reply = flow(api, web, { index: 41, srcPort: 80, dstPort: 40000, isReply: true });
    expect(judge(lock, reply)).toMatchObject({ index: 41, verdict: 'FORWARDED', allowed_by: [{ name: 'api-from-web' }] });
    const badReply = flow(api, other, { index: 42, srcPort: 80, dstPort: 40000, isReply: true });
    expect(judge(lock, badReply)).toMatchObject({ index: 42, verdict: 'DROPPED', dropped_at: 'ingress' });
  });
  it('an ICMP echo reply is judged as the echo request', () => {
    const m = model(spec({ name: 'i', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', icmps: [{ family: 4, type: 8 }] }] }));
    expect(judge(m, flow(api, web, { protocol: 'ICMPv4', icmpType: 0, isReply: true })).verdict).toBe('FORWARDED');
  });
});

describe('toServices', () => {
  it('matches the backends of the named service and its cluster IP', () => {
    const m = model(spec({ name: 's', subject: sel({ app: 'web' }, 'default'), rules: [{ direction: 'egress', peers: [peer.service('api', 'default')] }] }));
    const ev = createEvaluator(m, {
      services: [{ namespace: 'default', name: 'api', labels: [], selector: { app: 'api' }, clusterIPs: ['10.96.0.20'] }],
    });
    const dns = new DnsCache();
    expect(ev.judge(flow(web, api), dns).verdict).toBe('FORWARDED');
    expect(ev.judge(flow(web, pod({ ns: 'default', ip: '10.96.0.20' })), dns).verdict).toBe('FORWARDED');
    expect(ev.judge(flow(web, other), dns).verdict).toBe('DROPPED');
  });
});

describe('attribution order', () => {
  it('is sorted by kind, namespace, name and rule, independent of model order', () => {
    const a = spec({ kind: 'NetworkPolicy', name: 'b', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress' }] });
    const b = spec({ name: 'z', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress' }, { direction: 'ingress', peers: [peer.entities('cluster')] }] });
    const c = spec({ kind: 'CiliumClusterwideNetworkPolicy', name: 'a', subject: sel({ app: 'api' }), rules: [{ direction: 'ingress' }] });
    const v1 = judge(model(a, b, c), flow(web, api));
    const v2 = judge(model(c, b, a), flow(web, api));
    expect(v1.allowed_by).toEqual(v2.allowed_by);
    expect(v1.allowed_by.map((r) => `${r.kind}/${r.name}/${r.rule.split('/').pop()}`)).toEqual([
      'CiliumClusterwideNetworkPolicy/a/0',
      'CiliumNetworkPolicy/z/0',
      'CiliumNetworkPolicy/z/1',
      'NetworkPolicy/b/0',
    ]);
  });
});

describe('IPv6 neighbour discovery', () => {
  it('is never subject to policy, like the datapath', () => {
    const lock = model(spec({ name: 'lock', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [] }, { direction: 'egress', peers: [] }] }));
    const v6api = pod({ ns: 'default', labels: { app: 'api' }, ip: 'fd00::2' });
    expect(judge(lock, flow(v6api, reserved('world', 'ff02::2'), { protocol: 'ICMPv6', icmpType: 133 })).verdict).toBe('FORWARDED');
    expect(judge(lock, flow(v6api, reserved('world', 'ff02::2'), { protocol: 'ICMPv6', icmpType: 128 })).verdict).toBe('DROPPED');
  });
});
