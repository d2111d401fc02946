/**
 * How reports name an endpoint: `namespace/workload` for pods, the reserved kind otherwise (`world`, `host`, ...).
 * Stable for grouping: world addresses are not spelled out, so the number of groups stays bounded.
 */
import type { FlowEndpoint } from '../core/flow/types.js';

/** The report name of an endpoint. */
export function endpointName(ep: FlowEndpoint): string {
  if (ep.kind !== 'pod') return ep.kind;
  const ns = ep.namespace ?? '?';
  return `${ns}/${ep.workload ?? ep.podName ?? (ep.ip || '?')}`;
}

/** `TCP/80`, `UDP/53`, `ICMPv4/8`. */
export function portName(flow: { protocol: string; dstPort?: number; icmpType?: number }): string {
  if (flow.protocol === 'ICMPv4' || flow.protocol === 'ICMPv6') return `${flow.protocol}/${flow.icmpType ?? 0}`;
  return `${flow.protocol}/${flow.dstPort ?? 0}`;
}
