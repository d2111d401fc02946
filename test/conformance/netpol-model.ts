/**
 * The upstream NetworkPolicy e2e model (test/e2e/network/netpol), rebuilt as public-format inputs: namespaces x, y, z
 * labelled `ns=<name>` (plus the apiserver's `kubernetes.io/metadata.name`), pods a, b, c labelled `pod=<name>`,
 * each serving ports 80 and 81 on TCP, UDP and SCTP with container ports named `serve-<port>-<protocol>`. The
 * inventory is `kubectl get -o json` output; probes are `hubble observe -o json` lines; expectations are truth
 * tables written the way the upstream tests write them (default allowed, then ExpectPeer/ExpectAllIngress/...).
 */
export const ROOT = 'netpol-7';
export const NAMESPACES = ['x', 'y', 'z'].map((s) => `${ROOT}-${s}`) as [string, string, string];
export const [NS_X, NS_Y, NS_Z] = NAMESPACES;
export const PODS = ['a', 'b', 'c'] as const;
export const PORTS = [80, 81] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface PodRef {
  readonly ns: string;
  readonly pod: string;
}

export const ALL_PODS: readonly PodRef[] = NAMESPACES.flatMap((ns) => PODS.map((pod) => ({ ns, pod })));

export function podKey(p: PodRef): string {
  return `${p.ns}/${p.pod}`;
}

/** Pod IPs: one /24 per namespace inside 10.244.0.0/16, as a kind cluster would hand out. */
export function podIp(p: PodRef): string {
  return `10.244.${NAMESPACES.indexOf(p.ns) + 1}.${PODS.indexOf(p.pod as (typeof PODS)[number]) + 10}`;
}

export function inventoryJson(): unknown {
  const items: unknown[] = NAMESPACES.map((ns) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { ns, 'kubernetes.io/metadata.name': ns } },
    status: { phase: 'Active' },
  }));
  for (const p of ALL_PODS) {
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.pod, namespace: p.ns, labels: { pod: p.pod } },
      spec: {
        serviceAccountName: 'default',
        containers: PORTS.flatMap((port) =>
          PROTOCOLS.map((protocol) => ({
            name: `cont-${port}-${protocol.toLowerCase()}`,
            image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
            ports: [{ containerPort: port, name: `serve-${port}-${protocol.toLowerCase()}`, protocol }],
          })),
        ),
      },
      status: { phase: 'Running', podIP: podIp(p), podIPs: [{ ip: podIp(p) }] },
    });
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `s-${p.ns}-${p.pod}`, namespace: p.ns },
      spec: { selector: { pod: p.pod }, clusterIP: `10.96.${NAMESPACES.indexOf(p.ns) + 1}.${PODS.indexOf(p.pod as (typeof PODS)[number]) + 10}` },
    });
  }
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

/** How a probe's endpoints are written: as Cilium labels them, by name only, or by IP only (inventory fills in). */
export type EndpointStyle = 'labelled' | 'named' | 'bare';

function endpointJson(p: PodRef, style: EndpointStyle, identity: number): Record<string, unknown> {
  if (style === 'bare') return {};
  if (style === 'named') return { namespace: p.ns, pod_name: p.pod };
  return {
    ID: 1000 + identity,
    identity,
    namespace: p.ns,
    labels: [
      `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${p.ns}`,
      `k8s:io.cilium.k8s.namespace.labels.ns=${p.ns}`,
      'k8s:io.cilium.k8s.policy.cluster=default',
      'k8s:io.cilium.k8s.policy.serviceaccount=default',
      `k8s:io.kubernetes.pod.namespace=${p.ns}`,
      `k8s:pod=${p.pod}`,
    ],
    pod_name: p.pod,
  };
}

/** One probe: a connection attempt from a client pod to a server pod's IP. */
export interface Probe {
  readonly from: PodRef;
  readonly to: PodRef;
  readonly port: number;
  readonly protocol: Protocol;
}

/** The Hubble JSON line of a probe (its opening packet, as seen leaving the client). */
export function probeLine(probe: Probe, index: number): string {
  const style: EndpointStyle = (['labelled', 'named', 'bare'] as const)[index % 3]!;
  const l4 = { [probe.protocol]: { source_port: 30000 + (index % 30000), destination_port: probe.port, ...(probe.protocol === 'TCP' ? { flags: { SYN: true } } : {}) } };
  const time = new Date(Date.UTC(2026, 0, 1) + index).toISOString();
  const flow = {
    time,
    verdict: 'FORWARDED',
    IP: { source: podIp(probe.from), destination: podIp(probe.to), ipVersion: 'IPv4' },
    l4,
    source: endpointJson(probe.from, style, 20000 + ALL_PODS.findIndex((p) => podKey(p) === podKey(probe.from))),
    destination: endpointJson(probe.to, style, 20000 + ALL_PODS.findIndex((p) => podKey(p) === podKey(probe.to))),
    Type: 'L3_L4',
    node_name: 'kind-worker',
    event_type: { type: 4 },
    traffic_direction: 'EGRESS',
    is_reply: false,
    Summary: probe.protocol,
  };
  return JSON.stringify({ flow, node_name: 'kind-worker', time });
}

/** A who-can-reach-whom truth table, allowed by default, edited the way upstream's Reachability is. */
export class Reachability {
  private readonly table = new Map<string, boolean>();

  constructor(defaultAllowed = true) {
    for (const f of ALL_PODS) for (const t of ALL_PODS) this.table.set(`${podKey(f)}>${podKey(t)}`, defaultAllowed);
  }

  private static matches(peer: { ns?: string; pod?: string }, p: PodRef): boolean {
    return (peer.ns === undefined || peer.ns === p.ns) && (peer.pod === undefined || peer.pod === p.pod);
  }

  /** Sets every (from, to) pair matching the two peer patterns. */
  expectPeer(from: { ns?: string; pod?: string }, to: { ns?: string; pod?: string }, allowed: boolean): this {
    for (const f of ALL_PODS) for (const t of ALL_PODS) if (Reachability.matches(from, f) && Reachability.matches(to, t)) this.table.set(`${podKey(f)}>${podKey(t)}`, allowed);
    return this;
  }

  expectAllIngress(to: PodRef, allowed: boolean): this {
    return this.expectPeer({}, to, allowed);
  }

  expectAllEgress(from: PodRef, allowed: boolean): this {
    return this.expectPeer(from, {}, allowed);
  }

  expect(from: PodRef, to: PodRef, allowed: boolean): this {
    this.table.set(`${podKey(from)}>${podKey(to)}`, allowed);
    return this;
  }

  /** A pod reaching its own IP never crosses the datapath: always allowed (upstream ignores loopback). */
  allowLoopback(): this {
    for (const p of ALL_PODS) this.table.set(`${podKey(p)}>${podKey(p)}`, true);
    return this;
  }

  allowed(from: PodRef, to: PodRef): boolean {
    return this.table.get(`${podKey(from)}>${podKey(to)}`)!;
  }
}

export const pod = (ns: string, name: string): PodRef => ({ ns, pod: name });
