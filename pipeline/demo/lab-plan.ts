/**
 * What the demo builds, derived from the policy repository template: one pod per workload of the inventory (its
 * first replica, with its recorded IP, labels and container ports), placed on three "nodes" by namespace, and the
 * connections those pods make, taken from the recorded flows (each connection once, with a representative recorded
 * flow for the simulation to judge). Pure: the same template gives the same plan.
 */

/** A demo node: an agent with its own pods. */
export interface LabNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The namespaces whose pods run on this node. */
  readonly namespaces: readonly string[];
}

/** The three nodes: the shop on the canary, the data tier and DNS on the second, payments and monitoring on the third. */
export const LAB_NODES: readonly LabNode[] = [
  { name: 'node-1', labels: { role: 'canary' }, namespaces: ['shop'] },
  { name: 'node-2', labels: {}, namespaces: ['data', 'kube-system'] },
  { name: 'node-3', labels: {}, namespaces: ['payments', 'monitoring'] },
];

export interface LabPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** The container port's name, when it has one (NetworkPolicies may name it). */
  readonly name?: string;
}

export interface LabPod {
  /** `namespace/workload`, e.g. `shop/api`. */
  readonly id: string;
  readonly namespace: string;
  /** The pod's name in the inventory. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly ipv4: string;
  readonly node: string;
  /** Container ports: the pod's servers listen on these. */
  readonly ports: readonly LabPort[];
}

export interface LabConnection {
  /** `from → to PROTO/port`, unique in a plan. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** False for traffic the recording does not contain (the demo's live pods make it anyway). */
  readonly recorded: boolean;
  /** The application needs it: it counts for its node's health check. */
  readonly critical: boolean;
  /** A Hubble JSON line standing for this connection: what the simulation judges for it. */
  readonly flowLine: string;
}

export interface LabPlan {
  readonly nodes: readonly LabNode[];
  readonly pods: readonly LabPod[];
  readonly connections: readonly LabConnection[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
const strRecord = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v) ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** The workload a pod belongs to: its ReplicaSet's Deployment or its StatefulSet, else its own name. */
function workloadOf(pod: Json): string {
  const meta = obj(pod.metadata) ?? {};
  const name = String(meta.name ?? '');
  const owner = obj((Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [])[0]);
  if (owner?.kind === 'ReplicaSet' && typeof owner.name === 'string') return owner.name.replace(/-[a-z0-9]+$/, '');
  const labels = strRecord(meta.labels);
  return labels['app'] ?? labels['k8s-app'] ?? labels['app.kubernetes.io/name'] ?? name;
}

/** A flow line's connection key parts, or undefined for replies and non-opening packets. */
function openingOf(line: string): { src: string; dst: string; port: number; protocol: 'TCP' | 'UDP'; verdict: string; flow: Json } | undefined {
  let rec: Json;
  try {
    rec = JSON.parse(line) as Json;
  } catch {
    return undefined;
  }
  const flow = obj(rec.flow);
  const ip = obj(flow?.IP);
  const l4 = obj(flow?.l4);
  // L7 records repeat a connection's L3/L4 one with the proxy's view: the L3/L4 record stands for it.
  if (!flow || !ip || !l4 || flow.is_reply === true || flow.Type === 'L7') return undefined;
  const tcp = obj(l4.TCP);
  const udp = obj(l4.UDP);
  if (tcp && obj(tcp.flags)?.SYN !== true) return undefined;
  if (tcp && obj(tcp.flags)?.ACK === true) return undefined;
  const port = Number((tcp ?? udp)?.destination_port);
  if (!Number.isInteger(port) || (!tcp && !udp)) return undefined;
  return { src: String(ip.source), dst: String(ip.destination), port, protocol: tcp ? 'TCP' : 'UDP', verdict: String(flow.verdict ?? ''), flow: rec };
}

/**
 * Plans the lab.
 * @param inventory the template's `inventory.json`, parsed
 * @param recordedFlows the template's recorded flows (Hubble JSON lines)
 */
export function planLab(inventory: unknown, recordedFlows: string): LabPlan {
  const items = (Array.isArray(obj(inventory)?.items) ? (obj(inventory)!.items as unknown[]) : []).map(obj).filter((x): x is Json => x !== undefined);
  const nsLabels = new Map<string, Record<string, string>>();
  for (const it of items) if (it.kind === 'Namespace') nsLabels.set(String(obj(it.metadata)?.name), strRecord(obj(it.metadata)?.labels));
  const nodeOf = (ns: string): string | undefined => LAB_NODES.find((n) => n.namespaces.includes(ns))?.name;

  const pods: LabPod[] = [];
  /** Every replica's IP → the demo pod standing for its workload. */
  const byIp = new Map<string, LabPod>();
  for (const it of items) {
    if (it.kind !== 'Pod') continue;
    const meta = obj(it.metadata) ?? {};
    const namespace = String(meta.namespace ?? '');
    const ipv4 = String(obj(it.status)?.podIP ?? '');
    const node = nodeOf(namespace);
    if (!node || !/^\d+\.\d+\.\d+\.\d+$/.test(ipv4) || obj(it.spec)?.hostNetwork === true) continue;
    const id = `${namespace}/${workloadOf(it)}`;
    let pod = pods.find((p) => p.id === id);
    if (!pod) {
      const containers = Array.isArray(obj(it.spec)?.containers) ? (obj(it.spec)!.containers as unknown[]) : [];
      const ports = containers.flatMap((c) => (Array.isArray(obj(c)?.ports) ? (obj(c)!.ports as unknown[]) : [])).map(obj);
      pod = {
        id,
        namespace,
        name: String(meta.name),
        labels: strRecord(meta.labels),
        namespaceLabels: nsLabels.get(namespace) ?? {},
        ipv4,
        node,
        ports: ports
          .filter((p): p is Json => p !== undefined && Number.isInteger(p.containerPort))
          .map((p) => ({ port: Number(p.containerPort), protocol: p.protocol === 'UDP' ? 'UDP' : 'TCP', ...(typeof p.name === 'string' ? { name: p.name } : {}) })),
      };
      pods.push(pod);
    }
    byIp.set(ipv4, pod);
  }

  const connections: LabConnection[] = [];
  const byId = new Map<string, LabConnection>();
  for (const line of recordedFlows.split('\n')) {
    const o = line.trim() === '' ? undefined : openingOf(line);
    if (!o) continue;
    const from = byIp.get(o.src);
    const to = byIp.get(o.dst);
    if (!from || !to || from === to) continue;
    const id = `${from.id} → ${to.id} ${o.protocol}/${o.port}`;
    const seen = byId.get(id);
    if (seen) {
      // A connection the recording ever allowed is one the application needs.
      if (o.verdict !== 'DROPPED' && !seen.critical) byId.set(id, { ...seen, critical: true });
      continue;
    }
    const c: LabConnection = { id, from: from.id, to: to.id, port: o.port, protocol: o.protocol, recorded: true, critical: o.verdict !== 'DROPPED', flowLine: standIn(o.flow, from, to) };
    byId.set(id, c);
  }
  connections.push(...byId.values());
  connections.push(...unrecordedDnsOverTcp(connections, pods));
  connections.sort((a, b) => a.id.localeCompare(b.id));
  return { nodes: LAB_NODES, pods, connections };
}

/** A recorded flow re-addressed to the demo pods (a replica's flow stands for its workload's one demo pod). */
function standIn(rec: Json, from: LabPod, to: LabPod, l4?: Json): string {
  const flow = { ...obj(rec.flow)! };
  flow.IP = { ...obj(flow.IP), source: from.ipv4, destination: to.ipv4 };
  if (l4) flow.l4 = l4;
  return JSON.stringify({ ...rec, flow });
}

/**
 * DNS falls back to TCP when an answer does not fit a UDP datagram; a five-minute recording rarely holds one. The
 * demo's pods look names up over TCP too, so the live traffic has what the recording lacks: for each pod that the
 * recording shows using DNS over UDP, the same lookup over TCP/53.
 */
function unrecordedDnsOverTcp(recorded: readonly LabConnection[], pods: readonly LabPod[]): LabConnection[] {
  const out: LabConnection[] = [];
  for (const c of recorded) {
    if (c.protocol !== 'UDP' || c.port !== 53 || !c.critical) continue;
    const to = pods.find((p) => p.id === c.to)!;
    if (!to.ports.some((p) => p.port === 53 && p.protocol === 'TCP')) continue;
    const id = `${c.from} → ${c.to} TCP/53`;
    if (recorded.some((r) => r.id === id)) continue;
    const rec = JSON.parse(c.flowLine) as Json;
    const flowLine = standIn(rec, pods.find((p) => p.id === c.from)!, to, { TCP: { source_port: 40053, destination_port: 53, flags: { SYN: true } } });
    out.push({ id, from: c.from, to: c.to, port: 53, protocol: 'TCP', recorded: false, critical: true, flowLine });
  }
  return out;
}
