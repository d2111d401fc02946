/**
 * The policy model built from Cilium and Kubernetes policies: namespace scoping, NetworkPolicy semantics, ports,
 * ICMP, entities, default-deny activation, positions and determinism.
 */
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { matchesSelector } from '../../pipeline/core/model/selector-match.js';
import { parseLabel } from '../../pipeline/core/model/labels.js';
import type { PolicySpec } from '../../pipeline/core/model/types.js';
import { dedent } from './marked.js';

function load(yaml: string): PolicySpec[] {
  const r = loadPolicyModel([{ path: 'p.yaml', text: dedent(yaml) }]);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return [...r.model.specs];
}

const labels = (...xs: string[]) => xs.map(parseLabel);
const pod = (ns: string, ...xs: string[]) => labels(`k8s:io.kubernetes.pod.namespace=${ns}`, ...xs.map((x) => `k8s:${x}`));

describe('CiliumNetworkPolicy', () => {
  const [spec] = load(`
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: api, namespace: shop}
    spec:
      endpointSelector: {matchLabels: {app: api}}
      ingress:
        - fromEndpoints:
            - matchLabels: {app: web}
            - matchLabels: {k8s:io.kubernetes.pod.namespace: monitoring}
            - matchLabels: {reserved:host: ""}
          toPorts:
            - ports:
                - port: "8080"
                - port: "9000"
                  endPort: 9010
                  protocol: UDP
                - port: http
                  protocol: TCP
            - ports: [{port: "80", protocol: TCP}]
              rules:
                http: [{method: GET, path: "/v1/.*"}]
      egressDeny:
        - toEntities: [world]
        - icmps:
            - fields: [{type: EchoRequest, family: IPv6}, {type: Echo}]
  `);
  it('scopes the subject and peers to the policy namespace unless the selector names one', () => {
    expect(matchesSelector(spec!.subject, pod('shop', 'app=api'))).toBe(true);
    expect(matchesSelector(spec!.subject, pod('other', 'app=api'))).toBe(false);
    const peers = spec!.rules[0]!.peers!;
    expect(peers.map((p) => p.kind)).toEqual(['endpoints', 'endpoints', 'endpoints']);
    const [web, mon, host] = peers as Array<Extract<(typeof peers)[number], { kind: 'endpoints' }>>;
    expect(matchesSelector(web!.selector, pod('shop', 'app=web'))).toBe(true);
    expect(matchesSelector(web!.selector, pod('other', 'app=web'))).toBe(false);
    expect(matchesSelector(mon!.selector, pod('monitoring', 'app=prom'))).toBe(true);
    expect(host!.selector.requirements).toEqual([{ source: 'reserved', key: 'host', operator: 'In', values: [''] }]);
  });
  it('expands ports: ANY → TCP/UDP/SCTP, ranges, named ports', () => {
    const ports = spec!.rules[0]!.ports![0]!.ports.map(({ protocol, from, to, name }) => ({ protocol, from, to, name }));
    expect(ports).toEqual([
      { protocol: 'TCP', from: 8080, to: 8080, name: undefined },
      { protocol: 'UDP', from: 8080, to: 8080, name: undefined },
      { protocol: 'SCTP', from: 8080, to: 8080, name: undefined },
      { protocol: 'UDP', from: 9000, to: 9010, name: undefined },
      { protocol: 'TCP', from: 0, to: 0, name: 'http' },
    ]);
    expect(spec!.rules[0]!.ports![0]!.l7).toBeUndefined();
    expect(spec!.rules[0]!.ports![1]!.l7!.http).toEqual([{ method: 'GET', path: '/v1/.*', pos: { file: 'p.yaml', line: 21, col: 20 } }]);
  });
  it('resolves entities and ICMP names, builds deny rules and default-deny', () => {
    expect(spec!.rules.map((r) => r.id)).toEqual(['cnp/shop/api/0/ingress/0', 'cnp/shop/api/0/egress-deny/0', 'cnp/shop/api/0/egress-deny/1']);
    expect(spec!.rules[1]).toMatchObject({ action: 'deny', direction: 'egress', peers: [{ kind: 'entities', entities: ['world'] }], ports: null, icmps: null });
    expect(spec!.rules[2]!.peers).toBeNull();
    expect(spec!.rules[2]!.icmps!.map(({ family, type }) => ({ family, type }))).toEqual([
      { family: 6, type: 128 },
      { family: 4, type: 8 },
    ]);
    // A deny-only direction is default-deny too.
    expect(spec!.defaultDeny).toEqual({ ingress: true, egress: true });
  });
  it('keeps positions on policy, spec, rules and peers', () => {
    expect(spec!.policy.pos).toEqual({ file: 'p.yaml', line: 1, col: 1 });
    expect(spec!.rules[0]!.pos).toEqual({ file: 'p.yaml', line: 7, col: 7 });
    expect(spec!.rules[0]!.peers![1]!.pos).toEqual({ file: 'p.yaml', line: 9, col: 11 });
  });
});

describe('CiliumClusterwideNetworkPolicy', () => {
  it('lets peer selectors without a namespace match pods of every namespace only', () => {
    const [spec] = load(`
      apiVersion: cilium.io/v2
      kind: CiliumClusterwideNetworkPolicy
      metadata: {name: scrape}
      spec:
        endpointSelector: {}
        enableDefaultDeny: {ingress: false}
        ingress:
          - fromEndpoints: [{matchLabels: {app: prometheus}}]
            toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
    `);
    expect(spec!.policy.namespace).toBeNull();
    expect(spec!.subject.requirements).toEqual([]);
    expect(spec!.defaultDeny).toEqual({ ingress: false, egress: false });
    const peer = spec!.rules[0]!.peers![0]!;
    if (peer.kind !== 'endpoints') throw new Error('endpoints peer expected');
    expect(matchesSelector(peer.selector, pod('monitoring', 'app=prometheus'))).toBe(true);
    expect(matchesSelector(peer.selector, labels('reserved:host', 'k8s:app=prometheus'))).toBe(false);
  });
  it('gives nodeSelector specs the nodes subject kind', () => {
    const [spec] = load(`
      apiVersion: cilium.io/v2
      kind: CiliumClusterwideNetworkPolicy
      metadata: {name: host-fw}
      spec:
        nodeSelector: {matchLabels: {node-role.kubernetes.io/control-plane: ""}}
        ingress:
          - fromEntities: [cluster]
    `);
    expect(spec!.subjectKind).toBe('nodes');
    expect(spec!.subject.requirements).toEqual([{ source: 'any', key: 'node-role.kubernetes.io/control-plane', operator: 'In', values: [''] }]);
  });
});

describe('NetworkPolicy', () => {
  const [spec] = load(`
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: data}
    spec:
      podSelector: {matchLabels: {app: db}}
      ingress:
        - from:
            - podSelector: {matchLabels: {app: api}}
            - namespaceSelector: {matchLabels: {team: shop}}
              podSelector: {matchLabels: {app: api}}
            - namespaceSelector: {}
            - ipBlock: {cidr: 10.1.2.3/16, except: [10.1.9.0/24]}
          ports:
            - port: 5432
            - port: metrics
              protocol: UDP
            - protocol: SCTP
        - {}
      egress: []
  `);
  it('derives isolation from policyTypes (egress: [] adds nothing)', () => {
    expect(spec!.defaultDeny).toEqual({ ingress: true, egress: false });
  });
  it('translates peers with NetworkPolicy semantics', () => {
    const [local, both, anyNs, block] = spec!.rules[0]!.peers!;
    if (local?.kind !== 'endpoints' || both?.kind !== 'endpoints' || anyNs?.kind !== 'endpoints') throw new Error('endpoints expected');
    expect(matchesSelector(local.selector, pod('data', 'app=api'))).toBe(true);
    expect(matchesSelector(local.selector, pod('shop', 'app=api'))).toBe(false);
    const shopPod = [...pod('shop', 'app=api'), parseLabel('k8s:io.cilium.k8s.namespace.labels.team=shop')];
    expect(matchesSelector(both.selector, shopPod)).toBe(true);
    expect(matchesSelector(both.selector, pod('shop', 'app=api'))).toBe(false);
    expect(matchesSelector(anyNs.selector, pod('anything'))).toBe(true);
    expect(matchesSelector(anyNs.selector, labels('reserved:world'))).toBe(false);
    expect(block).toMatchObject({ kind: 'cidr', cidr: '10.1.0.0/16', except: ['10.1.9.0/24'], matchesPods: true });
  });
  it('defaults protocol to TCP, keeps named ports, absent port = all ports; empty rule = everything', () => {
    expect(spec!.rules[0]!.ports![0]!.ports.map(({ protocol, from, to, name }) => ({ protocol, from, to, name }))).toEqual([
      { protocol: 'TCP', from: 5432, to: 5432, name: undefined },
      { protocol: 'UDP', from: 0, to: 0, name: 'metrics' },
      { protocol: 'SCTP', from: 0, to: 65535, name: undefined },
    ]);
    expect(spec!.rules[1]).toMatchObject({ peers: null, ports: null, icmps: null, action: 'allow' });
  });
});

describe('model', () => {
  it('is sorted, deterministic, and leaves invalid policies and other kinds out', () => {
    const text = dedent(`
      apiVersion: v1
      kind: List
      items:
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: b, namespace: x}
          spec: {endpointSelector: {}, ingress: [{}]}
        - apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: a, namespace: x}
          spec: {endpointSelector: {}, ingress: [{fromCIDR: [bad]}]}
        - apiVersion: v1
          kind: Service
          metadata: {name: s}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: a, namespace: x}
      spec: {podSelector: {}}
    `);
    const r1 = loadPolicyModel([{ path: 'a.yaml', text }, { path: 'b.json', text: '{"kind": "ConfigMap", "apiVersion": "v1"}' }]);
    const r2 = loadPolicyModel([{ path: 'b.json', text: '{"kind": "ConfigMap", "apiVersion": "v1"}' }, { path: 'a.yaml', text }]);
    expect(JSON.stringify(r1)).toBe(JSON.stringify(r2));
    expect(r1.model.specs.map((s) => `${s.policy.kind}/${s.policy.name}`)).toEqual(['CiliumNetworkPolicy/b', 'NetworkPolicy/a']);
    expect(r1.stats).toMatchObject({ files: 2, documents: 5, policies: 2, invalid: 1, skipped: { ConfigMap: 1, Service: 1 } });
    expect(JSON.parse(JSON.stringify(r1.model))).toEqual(r1.model);
  });
  it('validates the template policy set cleanly', async () => {
    const { readPolicyFiles } = await import('../../pipeline/sources/index.js');
    const read = await readPolicyFiles(new URL('../../policy-repo-template/policies', import.meta.url).pathname);
    const r = loadPolicyModel(read.files);
    expect(r.diagnostics).toEqual([]);
    expect(r.stats.policies).toBeGreaterThanOrEqual(10);
    expect(new Set(r.model.specs.map((s) => s.policy.kind))).toEqual(new Set(['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy', 'NetworkPolicy']));
  });
});
