/**
 * How flows are grouped into connections for a report: the opening side first (a reply flow is turned around so it
 * counts with the connection it answers), each side named by its workload, plus the service port (or the ICMP type
 * of the request).
 */
import type { Flow, FlowEndpoint, FlowProtocol } from '../core/flow/types.js';
import { endpointName } from '../simulate/endpoint-name.js';
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

/**
 * The report's name for an endpoint: `namespace/workload` for pods (the workload the flow reader resolved from the
 * recording, the inventory or the pod name), the kind for the rest.
 */
export function reportEndpoint(ep: FlowEndpoint): ReportEndpoint {
  if (ep.kind !== 'pod') return { kind: ep.kind, namespace: null, workload: null, name: endpointName(ep) };
  return { kind: 'pod', namespace: ep.namespace ?? null, workload: ep.workload ?? ep.podName ?? ep.ip, name: endpointName(ep) };
}

/** What identifies one side in samples: the pod name, else the IP. */
export function sampleName(ep: FlowEndpoint): string {
  return ep.podName ?? (ep.ip || ep.kind);
}
