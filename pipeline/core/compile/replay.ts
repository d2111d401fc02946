/**
 * Replaying recorded flows through compiled tables: the part the `tables` and `kernel` engines share. The flows are
 * compiled once (every party of the recording gets an identity, every pod an endpoint); then, flow by flow and in
 * recording order, the addresses of both ends are bound to the identity and endpoint that the flow's view of them
 * has — a DNS answer seen earlier gives an outside address its toFQDNs identity, a reused pod address its current
 * pod — and the packet is judged by the datapath under test (the TypeScript mirror, or the kernel). The two
 * direction answers are composed into a Verdict exactly as the reference evaluator composes its own; a flow the
 * datapath hands to the L7 proxy gets the reference evaluator's L7 decision.
 */
import type { PolicyModel } from '../model/types.js';
import { PROTOCOL_NUMBER } from '../model/types.js';
import type { Flow, FlowEndpoint, RuleRef, Verdict } from '../flow/types.js';
import { DnsCache } from '../evaluate/dns-cache.js';
import { createEvaluator } from '../evaluate/evaluator.js';
import { formatIp, parseCidr, parseIp } from '../evaluate/ip-address.js';
import { reverseFlow } from '../evaluate/reverse-flow.js';
import { sortRuleRefs } from '../evaluate/rule-ref-order.js';
import type { Evaluator, ServiceInfo } from '../evaluate/types.js';
import { compileState, hostPrefix, type CompileOptions, type CompiledState } from './compile-tables.js';
import { dnsNamesOf, endpointKey, inventoryFromFlows } from './inventory.js';
import { DatapathMirror, type PacketDecision, type PacketView } from './lookup.js';

/** The datapath under test. */
export interface PacketJudge {
  /**
   * Brings the datapath in line with `mirror` (its ipcache and endpoints changed as `changed` says; policy never
   * changes during a replay). Called once before the first packet and then only after a change.
   */
  sync(mirror: DatapathMirror, changed: { readonly ipcache: boolean; readonly endpoints: boolean }): void;
  /** Judges one packet at one endpoint direction. */
  judge(packet: PacketView): PacketDecision;
}

/** Options of a replay. */
export interface ReplayOptions extends CompileOptions {
  readonly services?: readonly ServiceInfo[];
}

interface Outcome {
  readonly decision: 'allow' | 'proxy' | 'deny' | 'denied';
  readonly refs: readonly RuleRef[];
}

const ALLOW_NONE: Outcome = { decision: 'allow', refs: [] };

// Stand-in addresses come from the benchmarking ranges (RFC 2544, RFC 5180).
const STAND_IN_V4 = parseCidr('198.18.0.0/15')!;
const STAND_IN_V6 = parseCidr('2001:2::/48')!;

/** A recording compiled for replay. */
export class FlowReplay {
  readonly state: CompiledState;
  private readonly flows: readonly Flow[];
  private readonly evaluator: Evaluator;
  // Stand-in addresses for parties recorded without one, per party and family (a packet needs one family).
  private readonly standIns = new Map<string, string>();
  private readonly used = new Set<string>();
  private nextStandIn = { 4: STAND_IN_V4.lo, 6: STAND_IN_V6.lo };

  /**
   * Compiles `flows` (the whole recording, in order) against `model`.
   * @throws MapPressureError / CompileError as `compileTables`
   */
  constructor(model: PolicyModel, flows: readonly Flow[], options: ReplayOptions = {}) {
    this.flows = flows;
    this.state = compileState(model, inventoryFromFlows(flows, new DnsCache()), options);
    this.evaluator = createEvaluator(model, options.services ? { services: options.services } : {});
    for (const f of flows) for (const e of [f.src, f.dst]) if (e.ip !== '') this.used.add(e.ip);
  }

  /**
   * Judges every flow in order with `judge`.
   * @returns one verdict per flow, in input order
   */
  *run(judge: PacketJudge): Generator<Verdict> {
    const t = this.state.tables;
    const mirror = new DatapathMirror(t);
    judge.sync(mirror, { ipcache: true, endpoints: true });
    const dns = new DnsCache();
    for (const flow of this.flows) {
      const verdict = this.judgeFlow(flow, dns, mirror, judge);
      dns.observe(flow);
      yield verdict;
    }
  }

  /** The packet address of a party: its own, or a stand-in of the family of the other end (IPv4 by default). */
  private addressOf(e: FlowEndpoint, other: FlowEndpoint): string {
    if (e.ip !== '' && parseIp(e.ip) !== null) return e.ip;
    const family = other.ip !== '' ? parseIp(other.ip)?.family ?? 4 : 4;
    const key = `${family}|${endpointKey(e)}`;
    let ip = this.standIns.get(key);
    if (ip === undefined) {
      do ip = formatIp({ family, value: this.nextStandIn[family]++ });
      while (this.used.has(ip));
      this.standIns.set(key, ip);
      this.used.add(ip);
    }
    return ip;
  }

  /** Points the datapath's view of `e`'s address at the identity and endpoint this flow sees. */
  private bind(e: FlowEndpoint, ip: string, dns: DnsCache, mirror: DatapathMirror, changed: { ipcache: boolean; endpoints: boolean }): void {
    if (ip === '') return;
    const identity = this.state.identityTable.of({ endpoint: e, dnsNames: dnsNamesOf(e, dns) }).id;
    if (mirror.ipcache.lookup(ip) !== identity) {
      mirror.ipcache.set(hostPrefix(ip), identity);
      changed.ipcache = true;
    }
    const endpointId = e.kind === 'pod' ? this.state.endpointIds.get(endpointKey(e)) : undefined;
    if (mirror.endpoints.get(ip) !== endpointId) {
      if (endpointId === undefined) mirror.endpoints.delete(ip);
      else mirror.endpoints.set(ip, endpointId);
      changed.endpoints = true;
    }
  }

  private judgeFlow(original: Flow, dns: DnsCache, mirror: DatapathMirror, judge: PacketJudge): Verdict {
    // A reply is judged as the connection it answers, under its own index (as the reference evaluator does).
    const flow = original.isReply ? reverseFlow(original) : original;
    const srcIp = this.addressOf(flow.src, flow.dst);
    const dstIp = this.addressOf(flow.dst, flow.src);
    const changed = { ipcache: false, endpoints: false };
    this.bind(flow.src, srcIp, dns, mirror, changed);
    this.bind(flow.dst, dstIp, dns, mirror, changed);
    if (changed.ipcache || changed.endpoints) judge.sync(mirror, changed);

    const self = flow.src.ip !== '' && flow.src.ip === flow.dst.ip;
    const protocol = flow.protocol === 'ICMPv4' ? PROTOCOL_NUMBER.ICMP : flow.protocol === 'ICMPv6' ? PROTOCOL_NUMBER.ICMPv6 : PROTOCOL_NUMBER[flow.protocol];
    const packet = {
      protocol,
      ...(flow.dstPort !== undefined ? { dport: flow.dstPort } : {}),
      ...(flow.icmpType !== undefined ? { icmpType: flow.icmpType } : {}),
    };
    const outcome = (d: PacketDecision, exempt: boolean): Outcome => {
      if (!d.judged) return ALLOW_NONE;
      const refs = this.state.tables.ruleTable[d.ruleId] ?? [];
      if (d.verdict === 'dropped') return d.dropReason === 'POLICY_DENY' ? { decision: 'deny', refs } : exempt ? ALLOW_NONE : { decision: 'denied', refs: [] };
      if (exempt) return ALLOW_NONE;
      return { decision: d.verdict === 'proxy' ? 'proxy' : 'allow', refs };
    };

    let allowedBy: readonly RuleRef[] = [];
    if (flow.src.kind === 'pod') {
      const out = outcome(judge.judge({ direction: 'egress', localIp: srcIp, peerIp: dstIp, ...packet }), self);
      if (out.decision === 'proxy') return this.proxied(original, dns);
      if (out.decision === 'deny' || out.decision === 'denied') return dropped(original.index, out, 'egress', []);
      allowedBy = out.refs;
    }
    if (flow.dst.kind === 'pod') {
      // Exemption of the local host is compiled into the tables; a pod's own address is exempt here.
      const out = outcome(judge.judge({ direction: 'ingress', localIp: dstIp, peerIp: srcIp, ...packet }), self);
      if (out.decision === 'proxy') return this.proxied(original, dns);
      if (out.decision === 'deny' || out.decision === 'denied') return dropped(original.index, out, 'ingress', allowedBy);
      if (out.refs.length > 0) allowedBy = allowedBy.length > 0 ? sortRuleRefs([...allowedBy, ...out.refs]) : out.refs;
    }
    return { index: original.index, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: allowedBy, denied_by: [] };
  }

  /** The datapath hands the flow to the L7 proxy: the reference evaluator decides the L7 part. */
  private proxied(flow: Flow, dns: DnsCache): Verdict {
    return { ...this.evaluator.judge(flow, dns), l7: 'proxy' };
  }
}

function dropped(index: number, out: Outcome, at: 'egress' | 'ingress', allowedBy: readonly RuleRef[]): Verdict {
  return {
    index,
    verdict: 'DROPPED',
    drop_reason: out.decision === 'deny' ? 'POLICY_DENY' : 'POLICY_DENIED',
    dropped_at: at,
    allowed_by: allowedBy,
    denied_by: out.decision === 'deny' ? out.refs : [],
  };
}
