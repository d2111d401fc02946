/**
 * The self-test before activation, as pure functions over a packet judge (the kernel through BPF_PROG_TEST_RUN, or
 * the table lookup): (a) the bundle's signed probe vectors replayed through its own tables must give their signed
 * verdicts; (b) probes between this node's live endpoints, judged by the staged generation, must give the reference
 * evaluator's verdicts. The first probe that differs is reported. A generation to run in audit is self-tested in
 * audit: the probes it would drop must come out AUDIT (forwarded) where the audit covers them.
 */
import type { BundleContents, ProbeVector } from '../../pipeline/core/bundle/index.js';
import { FlowReplay, type PacketDecision, type PacketJudge, type PacketView } from '../../pipeline/core/compile/index.js';
import { createEvaluator, DnsCache, type AuditScope } from '../../pipeline/core/evaluate/index.js';
import type { Flow, FlowProtocol, Verdict } from '../../pipeline/core/flow/types.js';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import { PROTOCOL_NUMBER } from '../../pipeline/core/model/types.js';
import type { EndpointSet } from '../discovery/index.js';
import { podAddresses } from './inventory.js';
import type { ProbeMismatch } from './types.js';

/** Most live probes per self-test. */
export const MAX_LIVE_PROBES = 2048;
/** Most distinct L4 cases (protocol, port or ICMP type) taken from the bundle's probes for live probes. */
export const MAX_LIVE_L4_CASES = 16;

/** The fields of a verdict both sides must agree on, as text. */
export function verdictText(v: Pick<Verdict, 'verdict' | 'drop_reason' | 'dropped_at'>): string {
  return v.verdict === 'FORWARDED' ? 'FORWARDED' : `${v.verdict} ${v.drop_reason ?? ''} at ${v.dropped_at ?? '?'}`;
}

async function* each<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

/**
 * (a) Replays the bundle's probe vectors through `judge` (the flows compiled by the table compiler, as the kernel and
 * tables engines do) and compares each with its signed verdict. In `audit`, the expected verdict is the reference
 * evaluator's in that audit, which must itself fit the signed one (a signed FORWARDED stays FORWARDED, a signed drop
 * becomes AUDIT where audited, or stays the same drop).
 * @returns the first probe that differs, or null
 * @throws MapPressureError / CompileError when the probes' parties do not compile
 */
export async function selfTestProbes(contents: BundleContents, judge: PacketJudge, audit?: AuditScope): Promise<ProbeMismatch | null> {
  const replay = new FlowReplay(contents.model, audit ? { audit } : {});
  const flows = contents.probes.map((p) => p.flow);
  replay.scan(flows);
  const audited = audit ? createEvaluator(contents.model, { audit }) : undefined;
  const dns = new DnsCache();
  let i = 0;
  for await (const actual of replay.run(judge, each(flows))) {
    const probe = contents.probes[i] as ProbeVector;
    let expected = probe.verdict;
    if (audited) {
      expected = audited.judge(probe.flow, dns);
      dns.observe(probe.flow);
      if (!fitsSigned(probe.verdict, expected)) return { kind: 'bundle', index: i, what: `${probe.origin}, in audit`, expected: verdictText(probe.verdict), actual: verdictText(expected) };
    }
    const mismatch = compareOne('bundle', i, probe.origin, expected, actual);
    if (mismatch) return mismatch;
    i++;
  }
  return null;
}

/** Does an audit verdict fit the enforce verdict it was signed with? Audit only turns drops into AUDIT. */
function fitsSigned(signed: Verdict, audited: Verdict): boolean {
  if (signed.verdict === 'FORWARDED') return audited.verdict === 'FORWARDED';
  if (audited.verdict === 'FORWARDED') return false;
  // The first would-be drop is the signed drop; an enforced drop after it may come from the other direction.
  return audited.verdict === 'DROPPED' || (audited.drop_reason === signed.drop_reason && audited.dropped_at === signed.dropped_at);
}

function compareOne(kind: 'bundle' | 'live', index: number, what: string, expected: Verdict, actual: Verdict): ProbeMismatch | null {
  // L7 verdicts come from the reference evaluator on both sides; only the datapath's part is compared.
  const e = verdictText(expected);
  const a = verdictText(actual);
  return e === a && (expected.l7 === 'proxy') === (actual.l7 === 'proxy') ? null : { kind, index, what, expected: e, actual: a };
}

/** One live probe: a flow between two pods, the reference verdict, and which of its ends this node enforces. */
export interface LiveProbe {
  readonly flow: Flow;
  readonly expected: Verdict;
  readonly egressLocal: boolean;
  readonly ingressLocal: boolean;
}

interface L4Case {
  readonly protocol: FlowProtocol;
  readonly dstPort?: number;
  readonly icmpType?: number;
}

/** Distinct L4 cases of the bundle's probes (at most MAX_LIVE_L4_CASES), or TCP 80 and ICMP echo when it has none. */
function l4Cases(probes: readonly ProbeVector[]): L4Case[] {
  const out = new Map<string, L4Case>();
  for (const p of probes) {
    const f = p.flow;
    const c: L4Case = f.protocol === 'ICMPv4' || f.protocol === 'ICMPv6' ? { protocol: f.protocol, icmpType: f.icmpType ?? 8 } : { protocol: f.protocol, dstPort: f.dstPort ?? 0 };
    out.set(`${c.protocol}|${c.dstPort ?? ''}|${c.icmpType ?? ''}`, c);
    if (out.size >= MAX_LIVE_L4_CASES) break;
  }
  if (out.size === 0) return [{ protocol: 'TCP', dstPort: 80 }, { protocol: 'ICMPv4', icmpType: 8 }];
  return [...out.values()];
}

/**
 * Flows between every local endpoint and every other pod address of the same family, both ways, for each L4 case,
 * with the reference evaluator's verdict (in `audit` when given); flows the reference drops (or audits) at an end
 * this node does not enforce (another node's pod) cannot be checked here and are left out. At most `max`.
 */
export function liveProbes(model: PolicyModel, endpoints: EndpointSet, bundleProbes: readonly ProbeVector[], options: { readonly max?: number; readonly audit?: AuditScope | undefined } = {}): LiveProbe[] {
  const max = options.max ?? MAX_LIVE_PROBES;
  const evaluator = createEvaluator(model, options.audit ? { audit: options.audit } : {});
  const addrs = podAddresses(endpoints);
  const cases = l4Cases(bundleProbes);
  const out: LiveProbe[] = [];
  const family = (ip: string) => (ip.includes(':') ? 6 : 4);
  for (const local of addrs.filter((a) => a.local)) {
    for (const other of addrs) {
      if (other === local || family(other.endpoint.ip) !== family(local.endpoint.ip)) continue;
      for (const [src, dst] of [[local, other], [other, local]] as const) {
        for (const c of cases) {
          if ((c.protocol === 'ICMPv4') !== (family(src.endpoint.ip) === 4) && (c.protocol === 'ICMPv4' || c.protocol === 'ICMPv6')) continue;
          if (out.length >= max) return out;
          const flow: Flow = { index: out.length, src: src.endpoint, dst: dst.endpoint, isReply: false, ...c, ...(c.dstPort !== undefined ? { srcPort: 40000 } : {}) };
          const expected = evaluator.judge(flow, new DnsCache());
          const egressLocal = src.local;
          const ingressLocal = dst.local;
          if (expected.l7 === 'proxy') continue;
          if (expected.verdict !== 'FORWARDED' && !(expected.dropped_at === 'egress' ? egressLocal : ingressLocal)) continue;
          out.push({ flow, expected, egressLocal, ingressLocal });
        }
      }
    }
  }
  return out;
}

/** The packet facts of a flow's L4. */
export function packetOf(flow: Flow): { protocol: number; dport?: number; icmpType?: number } {
  const protocol = flow.protocol === 'ICMPv4' ? PROTOCOL_NUMBER.ICMP : flow.protocol === 'ICMPv6' ? PROTOCOL_NUMBER.ICMPv6 : PROTOCOL_NUMBER[flow.protocol];
  return { protocol, ...(flow.dstPort !== undefined ? { dport: flow.dstPort } : {}), ...(flow.icmpType !== undefined ? { icmpType: flow.icmpType } : {}) };
}

/**
 * (b) Judges each live probe at the ends this node enforces (egress at the source, then ingress at the destination)
 * with `decide`, and compares the composed verdict with the reference evaluator's.
 * @returns the first probe that differs, or null
 */
export function checkLiveProbes(probes: readonly LiveProbe[], decide: (packet: PacketView) => PacketDecision): ProbeMismatch | null {
  for (const [i, p] of probes.entries()) {
    const packet = packetOf(p.flow);
    let actual: Pick<Verdict, 'verdict' | 'drop_reason' | 'dropped_at'> = { verdict: 'FORWARDED', drop_reason: null, dropped_at: null };
    const sides = [
      ...(p.egressLocal ? [{ direction: 'egress' as const, localIp: p.flow.src.ip, peerIp: p.flow.dst.ip }] : []),
      ...(p.ingressLocal ? [{ direction: 'ingress' as const, localIp: p.flow.dst.ip, peerIp: p.flow.src.ip }] : []),
    ];
    for (const side of sides) {
      const d = decide({ ...side, ...packet });
      if (!d.judged || (d.verdict !== 'dropped' && d.verdict !== 'audit')) continue;
      const reason = d.dropReason === 'INVALID_SIP' ? null : d.dropReason === 'POLICY_DENY' ? 'POLICY_DENY' : 'POLICY_DENIED';
      if (d.verdict === 'dropped') {
        actual = { verdict: 'DROPPED', drop_reason: reason, dropped_at: side.direction };
        break;
      }
      // Audited: forwarded on to the other end, which may still drop it; the first would-be drop is reported.
      if (actual.verdict === 'FORWARDED') actual = { verdict: 'AUDIT', drop_reason: reason, dropped_at: side.direction };
    }
    const e = verdictText(p.expected);
    const a = verdictText(actual);
    if (e !== a) {
      const what = `${p.flow.src.namespace}/${p.flow.src.podName} (${p.flow.src.ip}) → ${p.flow.dst.namespace}/${p.flow.dst.podName} (${p.flow.dst.ip}) ${p.flow.protocol}${p.flow.dstPort !== undefined ? ` ${p.flow.dstPort}` : ''}${p.flow.icmpType !== undefined ? ` type ${p.flow.icmpType}` : ''}`;
      return { kind: 'live', index: i, what, expected: e, actual: a };
    }
  }
  return null;
}
