/**
 * Verdict events as `hubble observe -o json` lines: the envelope `{"flow": …, "node_name", "time"}` with the flow's
 * verdict, drop reason (number and `drop_reason_desc`), traffic direction, IP and L4 headers, both ends (identity,
 * labels, namespace, pod name) and the policies that allowed or denied it (`ingress_allowed_by`, `egress_denied_by`,
 * … naming kind, namespace, name and the bundle serial as revision). `palisade simulate --flows` reads these lines.
 */
import type { CompiledTables } from '../../pipeline/core/compile/index.js';
import type { RuleRef } from '../../pipeline/core/flow/types.js';
import type { VerdictEvent } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { podLabels } from './inventory.js';

/** Cilium's drop reason numbers and names. */
const DROP = {
  POLICY_DENIED: { code: 133, desc: 'POLICY_DENIED' },
  POLICY_DENY: { code: 181, desc: 'POLICY_DENY' },
  INVALID_SIP: { code: 132, desc: 'INVALID_SOURCE_IP' },
} as const;

const L4_NAMES: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMPv4', 58: 'ICMPv6' };

/** What a line needs besides the event: the enforced tables and endpoints, and the bundle serial. */
export interface HubbleContext {
  readonly node: string;
  readonly serial: number;
  readonly tables: CompiledTables;
  readonly endpoints: EndpointSet;
  /** Wall-clock milliseconds of boot (bpf_ktime_get_ns counts from it). */
  readonly bootMs: number;
}

/** Wall-clock milliseconds of the monotonic clock's zero (the kernel's bpf_ktime_get_ns and Node's hrtime agree). */
export function monotonicEpochMs(): number {
  return Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
}

/** Lookups over the context, built once per context. */
export class HubbleFormatter {
  private readonly identityLabels: Map<number, readonly string[]>;
  private readonly pods = new Map<string, { namespace: string; name: string; labels: string[] }>();

  constructor(private readonly ctx: HubbleContext) {
    this.identityLabels = new Map(ctx.tables.identities.map((i) => [i.id, i.labels]));
    for (const p of ctx.endpoints.pods) {
      const labels = podLabels(p).map((l) => `${l.source}:${l.key}=${l.value}`);
      for (const ip of p.ips) this.pods.set(ip, { namespace: p.namespace, name: p.name, labels });
    }
  }

  /** One event as a Hubble JSON line (no newline). */
  line(e: VerdictEvent): string {
    const time = new Date(this.ctx.bootMs + Number(e.tsNs / 1_000_000n)).toISOString();
    const end = (ip: string, identity: number) => {
      const pod = this.pods.get(ip);
      return pod
        ? { identity, namespace: pod.namespace, labels: pod.labels, pod_name: pod.name }
        : { identity, labels: [...(this.identityLabels.get(identity) ?? (identity === 2 ? ['reserved:world'] : []))] };
    };
    const l4name = L4_NAMES[e.protocol];
    const l4 =
      l4name === 'ICMPv4' || l4name === 'ICMPv6'
        ? { [l4name]: { type: e.icmpType, code: e.icmpCode } }
        : l4name
          ? { [l4name]: { source_port: e.sport, destination_port: e.dport } }
          : {};
    // AUDIT (Hubble's own verdict): what policy would have dropped, with why and by which rule, but forwarded.
    const dropped = e.verdict === 'dropped' || e.verdict === 'audit';
    const refs: readonly RuleRef[] = this.ctx.tables.ruleTable[e.ruleId] ?? [];
    const policies = refs.map((r) => ({ kind: r.kind, name: r.name, namespace: r.namespace ?? '', revision: this.ctx.serial }));
    const dir = e.direction === 'ingress' ? 'ingress' : 'egress';
    const flow: Record<string, unknown> = {
      time,
      verdict: e.verdict === 'audit' ? 'AUDIT' : dropped ? 'DROPPED' : 'FORWARDED',
      ...(dropped && e.dropReason ? { drop_reason: DROP[e.dropReason].code, drop_reason_desc: DROP[e.dropReason].desc } : {}),
      IP: { source: e.saddr, destination: e.daddr, ipVersion: e.family === 6 ? 'IPv6' : 'IPv4' },
      l4,
      source: end(e.saddr, e.srcIdentity),
      destination: end(e.daddr, e.dstIdentity),
      Type: 'L3_L4',
      node_name: this.ctx.node,
      is_reply: e.verdict === 'reply',
      traffic_direction: e.direction === 'ingress' ? 'INGRESS' : 'EGRESS',
      ...(policies.length > 0 ? { [`${dir}_${dropped ? 'denied' : 'allowed'}_by`]: policies } : {}),
      Summary: `${l4name ?? `proto ${e.protocol}`} ${e.saddr} -> ${e.daddr}`,
    };
    return JSON.stringify({ flow, node_name: this.ctx.node, time });
  }
}
