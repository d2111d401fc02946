/**
 * Probe vectors from the real loader and reference evaluator: edge cases at every port range boundary, peers that
 * match and do not, deny rules, CIDR edges; recorded repeats dropped; DNS-dependent verdicts kept apart.
 */
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { buildProbeVectors, generateEdgeFlows, parseProbeVectors, probesJsonl } from '../../pipeline/core/bundle/index.js';
import { REFERENCE_ENGINES } from '../../pipeline/bundle-build/index.js';
import type { Flow, FlowEndpoint } from '../../pipeline/core/flow/types.js';

const POLICY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  egress:
  - toCIDRSet: [{cidr: 198.51.100.0/24}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toFQDNs: [{matchName: pay.example.com}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, "k8s:k8s-app": kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
  egressDeny:
  - toPorts: [{ports: [{port: "25", protocol: TCP}]}]
`;

const model = loadPolicyModel([{ path: 'api.yaml', text: POLICY }]).model;

/** A pod in `ns` with the given k8s labels (plus its namespace label). */
const pod = (ns: string, ip: string, labels: Record<string, string>): FlowEndpoint => ({
  kind: 'pod',
  ip,
  namespace: ns,
  labels: [...Object.entries(labels), ['io.kubernetes.pod.namespace', ns]].map(([key, value]) => ({ source: 'k8s', key: key!, value: value! })),
});
const api = pod('shop', '10.0.0.5', { app: 'api' });
const dnsServer = pod('kube-system', '10.0.9.9', { 'k8s-app': 'kube-dns' });
const payIp = '203.0.113.7';
const world = (ip: string): FlowEndpoint => ({ kind: 'world', ip, labels: [{ source: 'reserved', key: 'world', value: '' }] });
const toPay = (index: number, srcPort: number): Flow => ({ index, time: `2026-11-20T09:00:0${index}Z`, src: api, dst: world(payIp), protocol: 'TCP', srcPort, dstPort: 443, isReply: false });

describe('probe vectors', () => {
  it('cover every rule edge with the reference verdict', () => {
    expect(model.specs).toHaveLength(1);
    const vectors = buildProbeVectors([], generateEdgeFlows(model), REFERENCE_ENGINES.createJudge(model));
    const of = (suffix: string) => vectors.find((v) => v.origin.endsWith(suffix))?.verdict;
    expect(of('peer 0 inside 198.51.100.0/24 TCP 443 first in')?.verdict).toBe('FORWARDED');
    expect(of('peer 0 inside 198.51.100.0/24 TCP 442 below out')?.drop_reason).toBe('POLICY_DENIED');
    expect(of('peer 0 inside 198.51.100.0/24 TCP 444 above out')?.drop_reason).toBe('POLICY_DENIED');
    expect(of('peer 0 outside 198.51.100.0/24 TCP 443 first in')?.drop_reason).toBe('POLICY_DENIED');
    expect(of('peer 0 matching UDP 53 first in')?.verdict).toBe('FORWARDED');
    expect(of('peer 0 not matching UDP 53 first in')?.drop_reason).toBe('POLICY_DENIED');
    expect(of('peer 0 answered for pay.example.com TCP 443 first in')?.verdict).toBe('FORWARDED');
    expect(of('peer 0 answered for pay.example.com TCP 444 above out')?.drop_reason).toBe('POLICY_DENIED');
    expect(of('peer 0 address without a DNS answer TCP 443 first in')?.drop_reason).toBe('POLICY_DENIED');
    const answer = vectors.find((v) => v.origin.endsWith('(DNS answer)'))!;
    expect(answer.flow.dns).toEqual({ query: 'pay.example.com.', ips: [vectors.find((v) => v.origin.endsWith('answered for pay.example.com TCP 443 first in'))!.flow.dst.ip] });
    const deny = vectors.filter((v) => v.origin.includes('egress-deny') && v.origin.includes('TCP 25 first in'));
    expect(deny.length).toBeGreaterThan(0);
    for (const d of deny) expect(d.verdict.drop_reason).toBe('POLICY_DENY');
    vectors.forEach((v, i) => expect([v.flow.index, v.verdict.index]).toEqual([i, i]));
    // The jsonl form reads back to the same vectors.
    expect(parseProbeVectors(probesJsonl(vectors))).toEqual(JSON.parse(JSON.stringify(vectors)));
  });

  it('drop recorded repeats but keep a verdict that a DNS answer changed', () => {
    const dnsAnswer: Flow = {
      index: 2, src: dnsServer, dst: api, protocol: 'UDP', srcPort: 53, dstPort: 40001, isReply: true,
      dns: { query: 'pay.example.com.', ips: [payIp] },
    };
    const recorded = [toPay(0, 41000), toPay(1, 41001), dnsAnswer, toPay(3, 41002), toPay(4, 41003)];
    const vectors = buildProbeVectors(recorded, [], REFERENCE_ENGINES.createJudge(model));
    const pay = vectors.filter((v) => v.flow.dst.ip === payIp);
    // Before the answer the address is unknown (denied); after it, allowed by the toFQDNs rule. One of each is kept.
    expect(pay.map((v) => v.verdict.verdict)).toEqual(['DROPPED', 'FORWARDED']);
    expect(vectors).toHaveLength(3);
    expect(vectors.map((v) => v.flow.index)).toEqual([0, 1, 2]);
  });

  it('give every synthesized party an address of its own, never one a recorded party has', () => {
    const recorded = [{ ...toPay(0, 41000), dst: world('198.51.100.1') }, { ...toPay(1, 41000), src: pod('shop', '10.200.0.1', { app: 'other' }) }];
    const avoid = new Set(recorded.flatMap((f) => [f.src.ip, f.dst.ip]));
    const edges = generateEdgeFlows(model, undefined, avoid);
    const partyAt = new Map<string, string>();
    for (const { flow } of edges) {
      for (const e of [flow.src, flow.dst]) {
        const who = JSON.stringify([e.kind, e.labels]);
        expect(avoid.has(e.ip), `${e.ip} is a recorded address`).toBe(false);
        expect(partyAt.get(e.ip) ?? who, `${e.ip} stands for two parties`).toBe(who);
        partyAt.set(e.ip, who);
      }
    }
    // The first address inside the CIDR was recorded, so the probe uses the next one.
    expect(edges.find((e) => e.origin.endsWith('peer 0 inside 198.51.100.0/24 TCP 443 first in'))?.flow.dst.ip).toBe('198.51.100.2');
  });
});
