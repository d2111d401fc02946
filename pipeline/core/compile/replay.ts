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
import { auditsEndpoint, type AuditScope } from '../evaluate/audit-scope.js';
import { createEvaluator } from '../evaluate/evaluator.js';
import { formatIp, parseCidr, parseIp } from '../evaluate/ip-address.js';
import { isNodeEndpoint } from '../evaluate/identity-cache.js';
import { reverseFlow } from '../evaluate/reverse-flow.js';
import { sortRuleRefs } from '../evaluate/rule-ref-order.js';
import type { Evaluator, ServiceInfo } from '../evaluate/types.js';
import { compileState, hostPrefix, type CompileOptions, type CompiledState } from './compile-tables.js';
import { CompileError } from './errors.js';
import { dnsNamesOf, endpointKey, type PeerView } from './inventory.js';
import { DatapathMirror, type PacketDecision, type PacketView } from './lookup.js';

/** The datapath under test. */
export interface PacketJudge {
  /**
   * Brings the datapath in line with `mirror` (its ipcache, endpoints or policy changed as `changed` says; the
   * policy entries are `mirror.policyEntries`). Called once before the first packet and then only after a change.
   */
  sync(mirror: DatapathMirror, changed: { readonly ipcache: boolean; readonly endpoints: boolean; readonly policy?: boolean }): void;
  /** Judges one packet at one endpoint direction. */
  judge(packet: PacketView): PacketDecision;
}

/** Options of a replay. */
export interface ReplayOptions extends CompileOptions {
  readonly services?: readonly ServiceInfo[];
  /** Flows read ahead of their verdicts, per compilation step (default REPLAY_CHUNK). */
  readonly readAhead?: number;
  /** Replay a generation in audit (see EvaluatorOptions.audit): the datapath's endpoints are flagged to match. */
  readonly audit?: AuditScope;
}

interface Outcome {
  readonly decision: 'allow' | 'proxy' | 'deny' | 'denied';
  readonly refs: readonly RuleRef[];
  /** A deny/denied the datapath forwarded because the endpoint audits. */
  readonly audited?: boolean;
}

const ALLOW_NONE: Outcome = { decision: 'allow', refs: [] };

// Stand-in addresses come from the benchmarking ranges (RFC 2544, RFC 5180).
const STAND_IN_V4 = parseCidr('198.18.0.0/15')!;
const STAND_IN_V6 = parseCidr('2001:2::/48')!;

/** Flows judged per compilation step: the engines read this far ahead of their verdicts. */
export const REPLAY_CHUNK = 4096;

/**
 * A recording compiled for replay, read as a stream: the parties of each chunk of flows are added to the inventory
 * (recompiling when new ones appear), then the chunk is judged in order. Given a first pass over the whole recording
 * (`scan`), nothing is recompiled while judging.
 */
export class FlowReplay {
  private compiled: CompiledState | undefined;
  private readonly evaluator: Evaluator;
  // The inventory so far, and the DNS answers its scan has seen (parties are viewed as each flow sees them).
  private readonly pods = new Map<string, FlowEndpoint>();
  private readonly peers = new Map<string, PeerView>();
  private scanDns = new DnsCache();
  private scanned = 0;
  private dirty = true;
  // Stand-in addresses for parties recorded without one, per party and family (a packet needs one family).
  private readonly standIns = new Map<string, string>();
  private readonly used = new Set<string>();
  private nextStandIn = { 4: STAND_IN_V4.lo, 6: STAND_IN_V6.lo };
  private readonly keys = new WeakMap<FlowEndpoint, string>();
  private readonly identityCache = new Map<string, number>();
  private identityCacheFor: CompiledState | undefined;

  constructor(
    private readonly model: PolicyModel,
    private readonly options: ReplayOptions = {},
  ) {
    this.evaluator = createEvaluator(model, { ...(options.services ? { services: options.services } : {}), ...(options.audit ? { audit: options.audit } : {}) });
  }

  /** The current compilation (compiling first when the inventory grew). @throws MapPressureError / CompileError */
  get state(): CompiledState {
    if (this.dirty || !this.compiled) {
      const byKey = (m: Map<string, unknown>) => [...m.keys()].sort();
      this.compiled = compileState(
        this.model,
        { pods: byKey(this.pods).map((k) => this.pods.get(k)!), peers: byKey(this.peers).map((k) => this.peers.get(k)!) },
        this.options,
      );
      this.dirty = false;
    }
    return this.compiled;
  }

  /**
   * Adds the parties of the next flows of the recording (in order, continuing where the last scan stopped).
   * @returns true when new parties appeared (the next `state` recompiles)
   */
  scan(flows: Iterable<Flow>): boolean {
    const before = this.pods.size + this.peers.size;
    for (const flow of flows) {
      for (const e of [flow.src, flow.dst]) {
        const key = this.keyOf(e);
        if (e.ip !== '') this.used.add(e.ip);
        if (e.kind === 'pod' && !this.pods.has(key)) this.pods.set(key, e);
        const names = dnsNamesOf(e, this.scanDns);
        const viewKey = `${key}|${names.join(',')}`;
        if (!this.peers.has(viewKey)) this.peers.set(viewKey, { endpoint: e, dnsNames: names });
      }
      this.scanDns.observe(flow);
      this.scanned++;
    }
    const grew = this.pods.size + this.peers.size > before;
    this.dirty ||= grew;
    return grew;
  }

  /** `scan` over an asynchronous first pass (e.g. a second read of the recording). Same result. */
  async scanAll(flows: AsyncIterable<Flow>): Promise<void> {
    let batch: Flow[] = [];
    for await (const flow of flows) {
      batch.push(flow);
      if (batch.length >= REPLAY_CHUNK) {
        this.scan(batch);
        batch = [];
      }
    }
    this.scan(batch);
  }

  /** Restarts the scan's view of DNS (a second pass over flows already scanned adds nothing new). */
  private rescanFromStart(): void {
    this.scanDns = new DnsCache();
  }

  /**
   * Judges `flows` (the recording, in order) with `judge`, reading ahead at most REPLAY_CHUNK flows. When `scanned`
   * (a first pass with `scan`) covered the recording, the tables are compiled once.
   * @returns one verdict per flow, in input order
   * @throws MapPressureError / CompileError as `compileTables`
   */
  async *run(judge: PacketJudge, flows: AsyncIterable<Flow>): AsyncGenerator<Verdict> {
    // The scan of the judged stream restarts its DNS view: chunks are scanned in recording order.
    const prescanned = this.scanned > 0;
    if (prescanned) this.rescanFromStart();
    const dns = new DnsCache();
    const readAhead = Math.max(1, this.options.readAhead ?? REPLAY_CHUNK);
    let mirror: DatapathMirror | undefined;
    let compiledFor: CompiledState | undefined;
    let chunk: Flow[] = [];
    const flush = function* (this: FlowReplay): Generator<Verdict> {
      this.scan(chunk);
      const state = this.state;
      if (state !== compiledFor || !mirror) {
        // First chunk, or new parties: a new generation (bindings are redone against it).
        mirror = new DatapathMirror(state.tables);
        mirror.audit = auditModeOf(this.options.audit);
        judge.sync(mirror, { ipcache: true, endpoints: true, policy: true });
        compiledFor = state;
      }
      for (const flow of chunk) {
        const verdict = this.judgeFlow(flow, dns, mirror, judge);
        dns.observe(flow);
        yield verdict;
      }
      chunk = [];
    };
    for await (const flow of flows) {
      chunk.push(flow);
      if (chunk.length >= readAhead) yield* flush.call(this);
    }
    if (chunk.length > 0) yield* flush.call(this);
  }

  /** `endpointKey`, cached per endpoint object (flow readers share one object per party). */
  private keyOf(e: FlowEndpoint): string {
    let key = this.keys.get(e);
    if (key === undefined) {
      key = endpointKey(e);
      this.keys.set(e, key);
    }
    return key;
  }

  /** The packet address of a party: its own, or a stand-in of the family of the other end (IPv4 by default). */
  private addressOf(e: FlowEndpoint, other: FlowEndpoint): string {
    if (e.ip !== '' && parseIp(e.ip) !== null) return e.ip;
    return this.standInFor(e, other.ip !== '' ? parseIp(other.ip)?.family ?? 4 : 4);
  }

  /** A stand-in address of `family` for a party, the same one every time. */
  private standInFor(e: FlowEndpoint, family: 4 | 6): string {
    const key = `${family}|${this.keyOf(e)}`;
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
    const state = this.state;
    const key = this.keyOf(e);
    const names = dnsNamesOf(e, dns);
    // Identities are cached per party and DNS names, per compilation (recordings repeat the same parties).
    if (this.identityCacheFor !== state) {
      this.identityCache.clear();
      this.identityCacheFor = state;
    }
    const cacheKey = names.length === 0 ? key : `${key}|${names.join(',')}`;
    let identity = this.identityCache.get(cacheKey);
    if (identity === undefined) {
      identity = state.identityTable.of({ endpoint: e, dnsNames: names }).id;
      this.identityCache.set(cacheKey, identity);
    }
    if (mirror.ipcache.lookup(ip) !== identity) {
      mirror.ipcache.set(hostPrefix(ip), identity);
      changed.ipcache = true;
    }
    // Pods, and node endpoints a host policy selects, are local endpoints; every other party is a plain peer.
    const endpointId = state.endpointIds.get(key);
    if (mirror.endpoints.get(ip) !== endpointId) {
      if (endpointId === undefined) mirror.endpoints.delete(ip);
      else mirror.endpoints.set(ip, endpointId);
      changed.endpoints = true;
    }
    // Audit scoped to namespaces flags the endpoints of their pods.
    if (endpointId !== undefined && this.options.audit?.kind === 'namespaces' && auditsEndpoint(this.options.audit, e) !== mirror.auditedEndpoints.has(endpointId)) {
      if (mirror.auditedEndpoints.has(endpointId)) mirror.auditedEndpoints.delete(endpointId);
      else mirror.auditedEndpoints.add(endpointId);
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
    // A packet has one address family: when the ends differ, each sees the other through a stand-in of its own.
    let dstSeenBySrc = dstIp;
    let srcSeenByDst = srcIp;
    const srcFamily = parseIp(srcIp)?.family;
    const dstFamily = parseIp(dstIp)?.family;
    if (srcFamily !== undefined && dstFamily !== undefined && srcFamily !== dstFamily) {
      dstSeenBySrc = this.standInFor(flow.dst, srcFamily);
      srcSeenByDst = this.standInFor(flow.src, dstFamily);
      this.bind(flow.dst, dstSeenBySrc, dns, mirror, changed);
      this.bind(flow.src, srcSeenByDst, dns, mirror, changed);
    }
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
      // Replayed packets carry their pod's own address: an anti-spoofing drop means the replay is wrong, not the flow.
      if (d.dropReason === 'INVALID_SIP') throw new CompileError('spoofed-source', `flow ${original.index}: the datapath dropped a replayed packet as spoofed (source is no endpoint)`);
      const refs = this.state.tables.ruleTable[d.ruleId] ?? [];
      if (d.verdict === 'dropped' || d.verdict === 'audit') {
        const audited = d.verdict === 'audit';
        if (d.dropReason === 'POLICY_DENY') return { decision: 'deny', refs, audited };
        return exempt ? ALLOW_NONE : { decision: 'denied', refs: [], audited };
      }
      if (exempt) return ALLOW_NONE;
      return { decision: d.verdict === 'proxy' ? 'proxy' : 'allow', refs };
    };

    let allowedBy: readonly RuleRef[] = [];
    // The first would-be drop at an audited endpoint: the packet goes on, and only an enforced drop after it wins.
    let wouldDrop: Verdict | null = null;
    // A node endpoint no host policy selects has no endpoint: nothing is enforced on it (no packet is judged there).
    if (this.isLocalEndpoint(flow.src)) {
      const out = outcome(judge.judge({ direction: 'egress', localIp: srcIp, peerIp: dstSeenBySrc, ...packet }), self);
      if (out.decision === 'proxy') return this.proxied(original, dns);
      if (out.decision === 'deny' || out.decision === 'denied') {
        if (!out.audited) return dropped(original.index, out, 'egress', []);
        wouldDrop = dropped(original.index, out, 'egress', []);
      } else allowedBy = out.refs;
    }
    if (this.isLocalEndpoint(flow.dst)) {
      // Exemption of the local host is compiled into the tables; a pod's own address is exempt here.
      const out = outcome(judge.judge({ direction: 'ingress', localIp: dstIp, peerIp: srcSeenByDst, ...packet }), self);
      if (out.decision === 'proxy') return this.proxied(original, dns);
      if (out.decision === 'deny' || out.decision === 'denied') {
        if (!out.audited) return dropped(original.index, out, 'ingress', allowedBy);
        wouldDrop ??= dropped(original.index, out, 'ingress', allowedBy);
      } else if (out.refs.length > 0) allowedBy = allowedBy.length > 0 ? sortRuleRefs([...allowedBy, ...out.refs]) : out.refs;
    }
    if (wouldDrop !== null) return { ...wouldDrop, verdict: 'AUDIT' };
    return { index: original.index, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: allowedBy, denied_by: [] };
  }

  /** Is the party a local endpoint of the current compilation (a pod, or a node endpoint a host policy selects)? */
  private isLocalEndpoint(e: FlowEndpoint): boolean {
    return e.kind === 'pod' || (isNodeEndpoint(e.kind) && this.state.endpointIds.has(this.keyOf(e)));
  }

  /** The datapath hands the flow to the L7 proxy: the reference evaluator decides the L7 part. */
  private proxied(flow: Flow, dns: DnsCache): Verdict {
    return { ...this.evaluator.judge(flow, dns), l7: 'proxy' };
  }
}

/** The datapath audit mode that carries `scope`: every endpoint, or the flagged ones (bind flags them). */
function auditModeOf(scope: AuditScope | undefined): 'off' | 'all' | 'flagged' {
  return scope === undefined ? 'off' : scope.kind === 'all' ? 'all' : 'flagged';
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
