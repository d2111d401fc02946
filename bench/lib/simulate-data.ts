/**
 * Deterministic test data for the simulate benchmark: 50 namespaces × 100 pods (5,000 endpoints), generated
 * CiliumNetworkPolicy / NetworkPolicy YAML, and Hubble flow lines of about 1 KB (pod-to-pod, world, host, replies).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const NAMESPACES = 50;
const PODS_PER_NS = 100; // 5,000 endpoints
const APPS = 20;

// ─── deterministic generator ───
let seed = 0x2f6e2b1;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

interface Pod {
  ns: number;
  app: number;
  k: number;
  ip: string;
  labels: string[];
  name: string;
  identity: number;
}

export const pods: Pod[] = [];
for (let ns = 0; ns < NAMESPACES; ns++) {
  for (let k = 0; k < PODS_PER_NS; k++) {
    const app = k % APPS;
    const name = `app-${app}-7d4b9c8f6d-${String(k).padStart(5, 'x')}`;
    pods.push({
      ns,
      app,
      k,
      ip: `10.${ns}.${k >> 8}.${(k & 255) + 1}`,
      name,
      identity: 1000 + ns * APPS + app,
      labels: [
        `k8s:app=app-${app}`,
        `k8s:tier=${app % 3 === 0 ? 'frontend' : app % 3 === 1 ? 'backend' : 'data'}`,
        `k8s:version=v${(k % 3) + 1}`,
        `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=team-${ns}`,
        `k8s:io.cilium.k8s.namespace.labels.team=team-${ns % 10}`,
        'k8s:io.cilium.k8s.policy.cluster=default',
        `k8s:io.cilium.k8s.policy.serviceaccount=app-${app}`,
        `k8s:io.kubernetes.pod.namespace=team-${ns}`,
      ],
    });
  }
}

export function policyYaml(i: number): string {
  const ns = i % NAMESPACES;
  const app = Math.floor(i / NAMESPACES) % APPS;
  if (i % 5 === 4) {
    return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np-${i}
  namespace: team-${ns}
spec:
  podSelector:
    matchLabels:
      app: app-${app}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              team: team-${(ns + 1) % 10}
          podSelector:
            matchExpressions:
              - {key: tier, operator: In, values: [frontend, backend]}
      ports:
        - {port: 8080, protocol: TCP}
        - {port: 9000, endPort: 9100, protocol: TCP}
  egress:
    - to:
        - podSelector: {}
    - to:
        - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}
      ports:
        - {port: 443}
`;
  }
  return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cnp-${i}
  namespace: team-${ns}
spec:
  endpointSelector:
    matchLabels:
      app: app-${app}
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: app-${(app + 1) % APPS}
        - matchLabels:
            tier: frontend
      toPorts:
        - ports:
            - {port: "8080", protocol: TCP}
            - {port: "9090", protocol: TCP}
    - fromEntities: [host, remote-node]
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
            - {port: "53", protocol: ANY}
    - toEndpoints:
        - {}
    - toCIDRSet:
        - {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.169.254/32]}
      toPorts:
        - ports:
            - {port: "443", protocol: TCP}
  egressDeny:
    - toCIDR: [203.0.113.0/24]
`;
}

export function flowLine(i: number): string {
  const src = pods[rand(pods.length)]!;
  const kind = rand(100);
  let dstIp: string;
  let dst: Record<string, unknown>;
  let port = [8080, 9090, 9050, 5432, 80][rand(5)]!;
  if (kind < 80) {
    const d = kind < 60 ? pods[src.ns * PODS_PER_NS + rand(PODS_PER_NS)]! : pods[rand(pods.length)]!;
    dstIp = d.ip;
    dst = { ID: 100 + d.k, identity: d.identity, namespace: `team-${d.ns}`, labels: d.labels, pod_name: d.name, workloads: [{ name: `app-${d.app}`, kind: 'Deployment' }] };
  } else if (kind < 95) {
    dstIp = `${[93, 142, 203, 8][rand(4)]}.${rand(256)}.${rand(256)}.${rand(256)}`;
    dst = { identity: 2, labels: ['reserved:world'] };
    port = rand(2) === 0 ? 443 : 80;
  } else {
    dstIp = '192.168.0.1';
    dst = { identity: 1, labels: ['reserved:host'] };
  }
  const reply = rand(10) < 3;
  const time = new Date(Date.UTC(2026, 10, 1) + i * 3).toISOString();
  const source = { ID: 100 + src.k, identity: src.identity, namespace: `team-${src.ns}`, labels: src.labels, pod_name: src.name, workloads: [{ name: `app-${src.app}`, kind: 'Deployment' }] };
  const sport = 32768 + rand(28000);
  const flow = {
    time,
    uuid: `0b5c${i.toString(16).padStart(8, '0')}-1c2d-4e5f-8a9b-${(i * 7919).toString(16).padStart(12, '0').slice(-12)}`,
    verdict: 'FORWARDED',
    IP: reply ? { source: dstIp, destination: src.ip, ipVersion: 'IPv4' } : { source: src.ip, destination: dstIp, ipVersion: 'IPv4' },
    l4: { TCP: reply ? { source_port: port, destination_port: sport, flags: { ACK: true } } : { source_port: sport, destination_port: port, flags: { SYN: true } } },
    source: reply ? dst : source,
    destination: reply ? source : dst,
    Type: 'L3_L4',
    node_name: `node-${src.ns % 8}`,
    event_type: { type: 4, sub_type: 3 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_STACK',
    is_reply: reply,
    Summary: reply ? 'TCP Flags: ACK' : 'TCP Flags: SYN',
  };
  return JSON.stringify({ flow, node_name: flow.node_name, time });
}


/** Writes `count` flow lines ({@link flowLine} 0…count-1) to `file`, in 1 MiB chunks. */
export async function writeFlowFile(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += flowLine(i) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
