/**
 * The TypeScript mirror of the datapath's per-packet decision over compiled tables (bpf/palisade_abi.h, comment on
 * `struct policy_key`): endpoint of the local address, peer identity from the ipcache (world when none), then two
 * LPM lookups in the endpoint's policy — the peer's identity and identity 0 — where a deny entry drops
 * (POLICY_DENY), else the longer match allows (ties: the identity-specific one) and its PROXY flag redirects, else
 * the packet is dropped (POLICY_DENIED). A packet leaving an endpoint from an address that is no endpoint is
 * dropped before any of this (INVALID_SIP, anti-spoofing). A policy drop at an endpoint in audit (the mirror's
 * `audit` mode: every endpoint, or the flagged ones) is forwarded as verdict `audit`. Used by the `tables` engine and
 * by the agent's self-check.
 */
import type { IpcacheEntry, PolicyDirection, PolicyEntry } from './entries.js';
import { parseIp } from '../evaluate/ip-address.js';
import { IpcacheLpm } from './ipcache-lpm.js';
import { keyPrefixLen, l4Contains, type L4Prefix } from './l4-prefix.js';

/** PALISADE_IDENTITY_WORLD: the identity of a peer address with no ipcache entry. */
export const IDENTITY_WORLD = 2;

/** PALISADE_ENDPOINT_NONE: the endpoint id of a packet dropped as spoofed (INVALID_SIP). */
export const ENDPOINT_NONE = 0;

/** What one policy lookup decided. */
export interface PolicyDecision {
  /** `audit`: policy would drop it (`dropReason` says why) but the endpoint audits, so it is forwarded. */
  readonly verdict: 'forwarded' | 'proxy' | 'dropped' | 'audit';
  /** `INVALID_SIP` (Cilium's 132) comes from the anti-spoofing check, never from a policy lookup. */
  readonly dropReason: null | 'POLICY_DENIED' | 'POLICY_DENY' | 'INVALID_SIP';
  /** Rule-table id of the deciding entry (0 when no entry matched). */
  readonly ruleId: number;
}

/** The packet facts the lookup reads. */
export interface PacketFacts {
  /** IANA protocol number. */
  readonly protocol: number;
  /** Destination port (TCP/UDP/SCTP); 0 for other protocols. */
  readonly dport?: number;
  /** ICMP/ICMPv6 type. */
  readonly icmpType?: number;
}

/** The packet's 16-bit dport field as the datapath builds it: the port, or the ICMP type in the high byte. */
export function packetPortField(p: PacketFacts): number {
  if (p.protocol === 1 || p.protocol === 58) return ((p.icmpType ?? 0) & 0xff) << 8;
  if (p.protocol === 6 || p.protocol === 17 || p.protocol === 132) return (p.dport ?? 0) & 0xffff;
  return 0;
}

/** ICMPv6 neighbour discovery (types 133..137) always passes unjudged, as in the datapath. */
export function passesUnjudged(p: PacketFacts): boolean {
  return p.protocol === 58 && p.icmpType !== undefined && p.icmpType >= 133 && p.icmpType <= 137;
}

/**
 * ICMPv6 from fe80::/10 or :: (neighbour discovery, MLD, DAD): the one traffic a pod may send from an address that is
 * not its own.
 */
export function linkLocalIcmpv6(protocol: number, sourceIp: string): boolean {
  if (protocol !== 58) return false;
  const ip = parseIp(sourceIp);
  if (ip === null || ip.family !== 6) return false;
  return ip.value === 0n || ip.value >> 118n === 0x3fan;
}

type Row = { readonly l4: L4Prefix; readonly prefixLen: number; readonly entry: PolicyEntry };

/** One generation's policy entries, indexed for LPM lookups. */
export class PolicyTable {
  private readonly rows = new Map<string, Row[]>();

  constructor(entries: readonly PolicyEntry[]) {
    for (const entry of entries) {
      const l4 = { protocol: entry.protocol, port: entry.port, portPrefixLen: entry.protocol === 0 ? 0 : entry.portPrefixLen };
      const key = rowKey(entry.endpointId, entry.direction, entry.identity);
      const list = this.rows.get(key);
      const row = { l4, prefixLen: keyPrefixLen(l4), entry };
      if (list) list.push(row);
      else this.rows.set(key, [row]);
    }
    // Longest prefix first, so the first containing row is the LPM answer.
    for (const list of this.rows.values()) list.sort((a, b) => b.prefixLen - a.prefixLen);
  }

  /** The LPM match of one identity, or undefined. */
  longestMatch(endpointId: number, direction: PolicyDirection, identity: number, packet: PacketFacts): Row | undefined {
    const list = this.rows.get(rowKey(endpointId, direction, identity));
    if (!list) return undefined;
    const key: L4Prefix = { protocol: packet.protocol, port: packetPortField(packet), portPrefixLen: 16 };
    for (const row of list) if (l4Contains(row.l4, key)) return row;
    return undefined;
  }

  /** The datapath's decision for a packet of `endpointId` in `direction` with peer `identity`. */
  decide(endpointId: number, direction: PolicyDirection, identity: number, packet: PacketFacts): PolicyDecision {
    const r1 = this.longestMatch(endpointId, direction, identity, packet);
    const r2 = identity === 0 ? undefined : this.longestMatch(endpointId, direction, 0, packet);
    if (r1?.entry.deny) return { verdict: 'dropped', dropReason: 'POLICY_DENY', ruleId: r1.entry.ruleId };
    if (r2?.entry.deny) return { verdict: 'dropped', dropReason: 'POLICY_DENY', ruleId: r2.entry.ruleId };
    const winner = r1 && (!r2 || r1.prefixLen >= r2.prefixLen) ? r1 : r2;
    if (!winner) return { verdict: 'dropped', dropReason: 'POLICY_DENIED', ruleId: 0 };
    return { verdict: winner.entry.proxy ? 'proxy' : 'forwarded', dropReason: null, ruleId: winner.entry.ruleId };
  }
}

function rowKey(endpointId: number, direction: PolicyDirection, identity: number): string {
  return `${endpointId}|${direction}|${identity}`;
}

/** A packet as the classifier of one endpoint direction sees it. */
export interface PacketView extends PacketFacts {
  readonly direction: PolicyDirection;
  /** The endpoint's own address (source for egress, destination for ingress). */
  readonly localIp: string;
  readonly peerIp: string;
}

/** The full decision for a packet, or `judged: false` when the datapath lets it pass unjudged. */
export type PacketDecision =
  | { readonly judged: false }
  | (PolicyDecision & { readonly judged: true; readonly endpointId: number; readonly peerIdentity: number });

/** Where a generation audits (PALISADE_CONTROL_AUDIT / _AUDIT_FLAGGED): nowhere, every endpoint, flagged ones. */
export type MirrorAuditMode = 'off' | 'all' | 'flagged';

/** One generation's tables as the datapath holds them: endpoints, ipcache and policy. */
export class DatapathMirror {
  readonly ipcache: IpcacheLpm;
  readonly endpoints: Map<string, number>;
  /** The control's audit mode (with the generation: one switch). */
  audit: MirrorAuditMode = 'off';
  /** Endpoint ids whose entries carry PALISADE_ENDPOINT_AUDIT (audited when `audit` is `flagged`). */
  readonly auditedEndpoints = new Set<number>();
  readonly policy: PolicyTable;
  /** The policy entries `policy` was built from, for datapaths that load them. */
  readonly policyEntries: readonly PolicyEntry[];

  constructor(tables: { readonly ipcache: readonly IpcacheEntry[]; readonly policy: readonly PolicyEntry[]; readonly endpoints: readonly { readonly address: string; readonly endpointId: number }[] }) {
    this.ipcache = IpcacheLpm.from(tables.ipcache);
    // An endpoint recorded without an address has no map row until a replay binds a stand-in to it.
    this.endpoints = new Map(tables.endpoints.filter((e) => e.address !== '').map((e) => [e.address, e.endpointId]));
    this.policy = new PolicyTable(tables.policy);
    this.policyEntries = tables.policy;
  }

  /** Judges one packet exactly as the classifier does. */
  judge(packet: PacketView): PacketDecision {
    const endpointId = this.endpoints.get(packet.localIp);
    if (endpointId === undefined && packet.direction === 'egress' && !linkLocalIcmpv6(packet.protocol, packet.localIp)) {
      // Anti-spoofing: the source is no endpoint (the mirror has no interfaces: every endpoint is on its own).
      const identity = (ip: string) => this.ipcache.lookup(ip) ?? IDENTITY_WORLD;
      return { judged: true, endpointId: ENDPOINT_NONE, peerIdentity: identity(packet.peerIp), verdict: 'dropped', dropReason: 'INVALID_SIP', ruleId: 0 };
    }
    if (endpointId === undefined || passesUnjudged(packet)) return { judged: false };
    const peerIdentity = this.ipcache.lookup(packet.peerIp) ?? IDENTITY_WORLD;
    const decision = this.policy.decide(endpointId, packet.direction, peerIdentity, packet);
    if (decision.verdict === 'dropped' && this.audits(endpointId)) return { judged: true, endpointId, peerIdentity, ...decision, verdict: 'audit' };
    return { judged: true, endpointId, peerIdentity, ...decision };
  }

  /** Does this generation audit (rather than drop) at `endpointId`? */
  audits(endpointId: number): boolean {
    return this.audit === 'all' || (this.audit === 'flagged' && this.auditedEndpoints.has(endpointId));
  }
}
