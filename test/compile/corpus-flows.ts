/**
 * Synthetic parties and flows for a real policy set: a pod for every selector the model uses (labels that satisfy
 * it), the reserved parties, outside addresses inside and around every CIDR, DNS answers for every toFQDNs name, and
 * flows between all of them on every port, protocol and ICMP type the model names — so the corpus policies'
 * rules actually decide the flows the engines are compared on.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Label, PolicyModel, Selector } from '../../pipeline/core/model/types.js';
import type { Flow, FlowEndpoint, FlowProtocol, NamedPort } from '../../pipeline/core/flow/types.js';
import { parseCidr, formatIp } from '../../pipeline/core/evaluate/ip-address.js';

function labelsFor(s: Selector): Label[] {
  const out: Label[] = [];
  for (const r of s.requirements) {
    const source = r.source === 'any' ? 'k8s' : r.source;
    if (r.operator === 'In') out.push({ source, key: r.key, value: r.values[0] ?? '' });
    else if (r.operator === 'Exists') out.push({ source, key: r.key, value: 'x' });
  }
  return out;
}

/** Parties and flows for `model`, at most `maxFlows` flows, deterministic. */
export function corpusFlows(model: PolicyModel, maxFlows = 600): Flow[] {
  const selectors: Selector[] = [];
  const namedPorts = new Map<string, NamedPort>();
  const ports = new Set<string>(['TCP/80', 'UDP/53']);
  const icmp = new Set<string>(['ICMPv4/8']);
  const cidrs: string[] = [];
  const names = new Set<string>();
  for (const spec of model.specs) {
    selectors.push(spec.subject);
    for (const rule of spec.rules) {
      for (const p of rule.peers ?? []) {
        if (p.kind === 'endpoints' || p.kind === 'nodes') selectors.push(p.selector);
        if (p.kind === 'cidr') cidrs.push(p.cidr, ...p.except);
        if (p.kind === 'fqdn') names.add((p.matchName ?? p.matchPattern ?? 'x').replace(/^\*\*\./, 'a.b.').replace(/\*/g, 'x'));
      }
      for (const pr of rule.ports ?? []) {
        for (const r of pr.ports) {
          if (r.name !== undefined) namedPorts.set(`${r.name}/${r.protocol}`, { name: r.name, protocol: r.protocol, port: 7000 + namedPorts.size });
          else {
            ports.add(`${r.protocol}/${r.from}`);
            if (r.to !== r.from) ports.add(`${r.protocol}/${r.to}`);
          }
        }
        for (const d of pr.l7?.dns ?? []) names.add((d.matchName ?? d.matchPattern ?? 'x').replace(/\*/g, 'x'));
      }
      for (const m of rule.icmps ?? []) icmp.add(`${m.family === 4 ? 'ICMPv4' : 'ICMPv6'}/${m.type}`);
    }
  }
  const parties: FlowEndpoint[] = [];
  const seen = new Set<string>();
  let podN = 0;
  for (const s of selectors) {
    const labels = labelsFor(s);
    if (labels.some((l) => l.source === 'reserved')) continue;
    const key = JSON.stringify(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    podN++;
    const ns = labels.find((l) => l.key === 'io.kubernetes.pod.namespace')?.value ?? 'default';
    if (!labels.some((l) => l.key === 'io.kubernetes.pod.namespace')) labels.push({ source: 'k8s', key: 'io.kubernetes.pod.namespace', value: ns });
    parties.push({ kind: 'pod', ip: `10.200.${podN >> 8}.${podN & 255}`, labels, namespace: ns, podName: `p${podN}`, namedPorts: [...namedPorts.values()] });
    if (parties.length >= 24) break;
  }
  parties.push({ kind: 'pod', ip: '10.200.99.1', labels: [{ source: 'k8s', key: 'io.kubernetes.pod.namespace', value: 'default' }], namespace: 'default', podName: 'plain' });
  parties.push({ kind: 'host', ip: '192.168.50.1', labels: [{ source: 'reserved', key: 'host', value: '' }] });
  parties.push({ kind: 'remote-node', ip: '192.168.50.2', labels: [{ source: 'reserved', key: 'remote-node', value: '' }] });
  parties.push({ kind: 'kube-apiserver', ip: '192.168.50.3', labels: [{ source: 'reserved', key: 'kube-apiserver', value: '' }] });
  const world = (ip: string): FlowEndpoint => ({ kind: 'world', ip, labels: [{ source: 'reserved', key: 'world', value: '' }] });
  parties.push(world('198.51.100.7'));
  for (const c of cidrs.slice(0, 8)) {
    const r = parseCidr(c);
    if (r && r.family === 4) parties.push(world(formatIp({ family: 4, value: r.lo + (r.hi > r.lo ? 1n : 0n) })));
  }
  const dnsIps = [...names].slice(0, 6).map((_, i) => `203.0.113.${i + 1}`);
  for (const ip of dnsIps) parties.push(world(ip));
  const pods = parties.filter((p) => p.kind === 'pod');
  const services: { protocol: FlowProtocol; port?: number; type?: number }[] = [
    ...[...ports].map((p) => ({ protocol: p.split('/')[0] as FlowProtocol, port: Number(p.split('/')[1]) })),
    ...[...namedPorts.values()].map((n) => ({ protocol: n.protocol as FlowProtocol, port: n.port })),
    ...[...icmp].filter((i) => i.startsWith('ICMPv4')).map((i) => ({ protocol: 'ICMPv4' as FlowProtocol, type: Number(i.split('/')[1]) })),
  ];
  const flows: Flow[] = [];
  const add = (f: Omit<Flow, 'index'>): void => {
    if (flows.length < maxFlows) flows.push({ ...f, index: flows.length });
  };
  const pairs: [FlowEndpoint, FlowEndpoint][] = [];
  for (const a of parties) for (const b of parties) if (a !== b && (a.kind === 'pod' || b.kind === 'pod')) pairs.push([a, b]);
  let dnsDone = false;
  // Round-robin over pairs and services so every pair sees several ports within the bound.
  for (let round = 0; flows.length < maxFlows && round < services.length; round++) {
    for (let i = 0; i < pairs.length && flows.length < maxFlows; i++) {
      const [src, dst] = pairs[i]!;
      const s = services[(i + round) % services.length]!;
      const icmpFlow = s.protocol === 'ICMPv4';
      add({ src, dst, protocol: s.protocol, ...(icmpFlow ? { icmpType: s.type ?? 8, icmpCode: 0 } : { srcPort: 40000, dstPort: s.port ?? 0 }), isReply: i % 7 === 3 });
      if (!dnsDone && flows.length >= maxFlows / 3) {
        // DNS answers arrive a third of the way in: earlier flows to these addresses must not match toFQDNs.
        dnsDone = true;
        [...names].slice(0, 6).forEach((name, k) =>
          add({ src: world('10.96.0.10'), dst: pods[0]!, protocol: 'UDP', srcPort: 53, dstPort: 40001, isReply: true, dns: { query: name, ips: [dnsIps[k]!] } }),
        );
      }
    }
  }
  return flows;
}

/** The Cilium corpus (../shared/corpus/cilium, next to the repository). */
export const CILIUM_CORPUS = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'cilium');

/** Every YAML file of a directory tree, sorted, without the CRD schemas. */
export function corpusYamlFiles(dir: string = CILIUM_CORPUS): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...corpusYamlFiles(p));
    else if (/\.ya?ml$/.test(name) && !p.includes('/crds/')) out.push(p);
  }
  return out;
}
