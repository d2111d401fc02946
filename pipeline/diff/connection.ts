/**
 * How flows are grouped into connections for a report: the opening side first (a reply flow is turned around so it
 * counts with the connection it answers), each side named by its workload, plus the service port (or the ICMP type
 * of the request).
 */
import type { Flow, FlowEndpoint, FlowProtocol } from '../core/flow/types.js';
import type { ReportEndpoint } from './report.js';

/** The connection a flow belongs to, oriented from the opener to the server. */
export interface ConnectionOf {
  readonly client: FlowEndpoint;
  readonly server: FlowEndpoint;
  readonly protocol: FlowProtocol;
  readonly port: number | null;
}

// ICMP replies map back to the request type that opened the exchange.
const ICMP_REQUEST_OF_REPLY: Readonly<Record<FlowProtocol, Readonly<Record<number, number>>>> = {
  ICMPv4: { 0: 8, 14: 13, 16: 15, 18: 17 },
  ICMPv6: { 129: 128 },
  TCP: {},
  UDP: {},
  SCTP: {},
};

/** Orients a flow: replies are swapped so the connection reads opener → server:port. */
export function connectionOf(flow: Flow): ConnectionOf {
  const icmp = flow.protocol === 'ICMPv4' || flow.protocol === 'ICMPv6';
  if (flow.isReply) {
    const port = icmp
      ? flow.icmpType === undefined
        ? null
        : (ICMP_REQUEST_OF_REPLY[flow.protocol][flow.icmpType] ?? flow.icmpType)
      : (flow.srcPort ?? null);
    return { client: flow.dst, server: flow.src, protocol: flow.protocol, port };
  }
  return { client: flow.src, server: flow.dst, protocol: flow.protocol, port: (icmp ? flow.icmpType : flow.dstPort) ?? null };
}

/** `TCP/5432`, `ICMPv4/8`, `UDP` when the port is unknown. */
export function portLabel(protocol: FlowProtocol, port: number | null): string {
  return port === null ? protocol : `${protocol}/${port}`;
}

// Pod-name suffixes that controllers add: Deployment `-<rs hash>-<5>`, DaemonSet/Job `-<5>`, StatefulSet `-<n>`.
const DEPLOYMENT_POD = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/;
const DAEMONSET_POD = /^(.+)-[a-z0-9]{5}$/;
const STATEFULSET_POD = /^(.+)-\d+$/;

/**
 * The workload a pod belongs to: the recorded/inventory workload when known, otherwise guessed from the pod name's
 * controller suffix, otherwise the pod name (or IP).
 */
export function workloadOf(ep: FlowEndpoint): string {
  if (ep.workload) return ep.workload;
  const pod = ep.podName;
  if (!pod) return ep.ip || 'unknown';
  const m = DEPLOYMENT_POD.exec(pod) ?? STATEFULSET_POD.exec(pod) ?? DAEMONSET_POD.exec(pod);
  return m ? m[1]! : pod;
}

/** The report's name for an endpoint: `namespace/workload` for pods, the kind for the rest. */
export function reportEndpoint(ep: FlowEndpoint): ReportEndpoint {
  if (ep.kind !== 'pod') return { kind: ep.kind, namespace: null, workload: null, name: ep.kind };
  const workload = workloadOf(ep);
  const namespace = ep.namespace ?? null;
  return { kind: 'pod', namespace, workload, name: namespace ? `${namespace}/${workload}` : workload };
}

/** What identifies one side in samples: the pod name, else the IP. */
export function sampleName(ep: FlowEndpoint): string {
  return ep.podName ?? (ep.ip || ep.kind);
}
