/**
 * The reference evaluator: the one written-down form of Palisade's verdict semantics (SEMANTICS.md). The tables and
 * kernel engines must agree with it on every flow.
 *
 * Order of decisions for a flow opening a connection:
 *   1. the source's egress, when the source is a managed pod; then
 *   2. the destination's ingress, when the destination is a managed pod.
 * In each direction: a matching deny rule drops (POLICY_DENY) — deny beats allow in any policy kind; otherwise a
 * direction that is not default-deny allows; otherwise some allow rule must match (else POLICY_DENIED). A pod
 * talking to its own IP, and the local host reaching a local pod (ingress), are exempt from default-deny, but an
 * explicit deny still drops them: Palisade lets an author deny them on purpose. When an allow rule that matches at
 * L3/L4 carries L7 rules, the flow is handed to the proxy (`l7: 'proxy'`) and the L7 rules decide requests the flow
 * carries (HTTP, DNS); a plain L3/L4 allow of the same flow in that direction allows every request.
 *
 * Choices where SEMANTICS.md leaves room, each covered by a test:
 * - Self traffic and host→local pod ingress skip default-deny but not explicit deny rules.
 * - IPv6 neighbour discovery (ICMPv6 133..137) is never judged (the datapath passes it before policy).
 * - A reply (`isReply`) is judged as the connection it answers (ends and ports swapped, ICMP reply → request type).
 * - An L3/L4-only flow (no request recorded) that an L7 rule governs is FORWARDED with `l7: 'proxy'`; an L7 decision
 *   against a recorded request that no rule allows is POLICY_DENIED in that direction.
 * - `toFQDNs` addresses become world identities, like CIDR rules: they never match pods, hosts or nodes, and apply to
 *   egress only. TTLs are ignored within one recording.
 * - The `cluster` entity covers every non-world kind (pods, host, remote nodes, health, init, unmanaged, ingress,
 *   kube-apiserver).
 * - Host policies (CCNP `nodeSelector`) are enforced on node endpoints: the local host (`host`, hostNetwork pods
 *   included) and other nodes (`remote-node`, whose own host firewall judges what reaches it), egress when the node
 *   opens the connection and ingress when it receives it, exactly like pods (deny first, default-deny from rules in
 *   that direction); the local-host exemption is for pods only. The nodeSelector is matched against the node
 *   endpoint's labels: `reserved:host` / `reserved:remote-node` plus the node's labels as `k8s:<key>=<value>`, which
 *   the flow reader takes from the inventory's Node objects (by address, or by the recording's node name for the
 *   local host). Where a node is unknown its labels are only the reserved one: a nodeSelector that needs node labels
 *   selects it not, `{}` (and selectors of only NotIn/DoesNotExist) select every node.
 * - `toServices` matches the pods the service's selector picks in the service's namespace (Cilium 1.17+ copies the
 *   selector into an endpoint selector), and, Palisade's choice for flows still addressed to it, the service's
 *   cluster IPs. A service without a selector matches only its cluster IPs (Cilium would use its EndpointSlice
 *   addresses as CIDRs, which the inventory does not carry). A reference without a namespace matches services of
 *   that name or labels in every namespace, as Cilium's. `toPorts` beside `toServices` compare the flow's
 *   destination port as every port rule does: the BACKEND port. Cilium applies L4 policy after service translation,
 *   so a rule must name the Service's targetPort, not its port; the flow reader (pipeline/flows, with an inventory)
 *   already turns a connection recorded to `clusterIP:port` into one to the first backend on that port's targetPort
 *   (named targetPorts resolved on that backend), so all three engines judge the translated connection.
 * - allowed_by lists the allow rules of every direction that was enforced and allowed; denied_by the deny rules of
 *   the direction that dropped; both sorted by kind, namespace, name, rule id.
 * - In audit (`options.audit`), a drop at an audited point does not end the flow: the next point still judges it
 *   (as the packet reaches it), an enforced drop there is DROPPED, otherwise the verdict is AUDIT with the fields of
 *   the first would-be drop (allowed_by: what allowed before it).
 */
import type { Direction, IcmpMatch } from '../model/types.js';
import type { Flow, FlowEndpoint, RuleRef, Verdict } from '../flow/types.js';
import { compileModel, type CompiledL7, type CompiledPortRule, type CompiledRule } from './compile-model.js';
import { normaliseDnsName, type DnsCache } from './dns-cache.js';
import { httpRequestParts, type HttpRequestParts } from './http-match.js';
import { IdentityCache, isEnforcementPoint, type Identity } from './identity-cache.js';
import type { IpValue } from './ip-address.js';
import { auditsEndpoint } from './audit-scope.js';
import { peerMatches, PeerFacts } from './peer-match.js';
import { reverseFlow } from './reverse-flow.js';
import { sortRuleRefs } from './rule-ref-order.js';
import type { Evaluator, EvaluatorOptions } from './types.js';
import type { PolicyModel } from '../model/types.js';

/** What one direction decided. */
interface DirectionOutcome {
  readonly decision: 'allow' | 'denied' | 'deny';
  readonly allowedBy: readonly RuleRef[];
  readonly deniedBy: readonly RuleRef[];
  readonly proxy: boolean;
}

/** The empty rule list every verdict shares (frozen, so reports may cache by it). */
const NO_REFS: readonly RuleRef[] = Object.freeze([]);
const ALLOW_UNENFORCED: DirectionOutcome = { decision: 'allow', allowedBy: NO_REFS, deniedBy: NO_REFS, proxy: false };

/**
 * Per-direction facts shared by every rule check, computed lazily. One instance per direction is reused for every
 * flow (`reset`), which keeps the hot path free of allocation. The peer's DNS names come from the recording's DNS
 * cache as it stands at this flow.
 */
class FlowFacts extends PeerFacts {
  flow!: Flow;
  dns!: DnsCache;
  private http: HttpRequestParts | undefined;

  reset(flow: Flow, peer: FlowEndpoint, peerIdentity: Identity, dns: DnsCache): this {
    this.setPeer(peer, peerIdentity);
    this.flow = flow;
    this.dns = dns;
    this.http = undefined;
    return this;
  }

  override peerDnsNames(): Iterable<string> {
    return this.dns.namesFor(this.peer.ip);
  }

  httpParts(): HttpRequestParts | undefined {
    if (this.http === undefined && this.flow.http) this.http = httpRequestParts(this.flow.http);
    return this.http;
  }
}

function portRuleMatches(pr: CompiledPortRule, flow: Flow): boolean {
  // An entry without ports (only L7) covers every port of every transport protocol.
  if (pr.ranges.length === 0) return true;
  const port = flow.dstPort ?? 0;
  for (const r of pr.ranges) {
    if (r.protocol !== flow.protocol) continue;
    if (r.name !== undefined) {
      // Named ports resolve on the destination pod: name and protocol must both match.
      const named = flow.dst.namedPorts?.find((np) => np.name === r.name && np.protocol === r.protocol);
      if (named !== undefined && named.port === port) return true;
      continue;
    }
    if (port >= r.from && port <= r.to) return true;
  }
  return false;
}

function icmpMatches(icmps: readonly IcmpMatch[], flow: Flow): boolean {
  const family = flow.protocol === 'ICMPv4' ? 4 : 6;
  const type = flow.icmpType ?? 0;
  for (const m of icmps) if (m.family === family && m.type === type) return true;
  return false;
}

/** Results of `matchL3L4`: bit 1 = a plain (L3/L4-only) entry matched, bit 2 = entries with L7 rules matched. */
const NO_MATCH = 0;
const PLAIN = 1;
const WITH_L7 = 2;

/**
 * L3/L4 match of one rule. The L7 entries that matched are appended to `l7Out` (cleared by the caller).
 * @returns NO_MATCH, or PLAIN and/or WITH_L7 bits
 */
function matchL3L4(rule: CompiledRule, facts: FlowFacts, direction: Direction, l7Out: CompiledL7[] | null): number {
  if (rule.peers !== null) {
    let any = false;
    for (const p of rule.peers) {
      if (peerMatches(p, facts, direction)) {
        any = true;
        break;
      }
    }
    if (!any) return NO_MATCH;
  }
  const flow = facts.flow;
  if (rule.ports === null && rule.icmps === null) return PLAIN;
  if (flow.protocol === 'ICMPv4' || flow.protocol === 'ICMPv6') {
    return rule.icmps !== null && icmpMatches(rule.icmps, flow) ? PLAIN : NO_MATCH;
  }
  if (rule.ports === null) return NO_MATCH;
  let result = NO_MATCH;
  for (const pr of rule.ports) {
    if (!portRuleMatches(pr, flow)) continue;
    if (pr.l7 === null) result |= PLAIN;
    else {
      result |= WITH_L7;
      l7Out?.push(pr.l7);
    }
  }
  return result;
}

/** Does an L7 entry allow the request the flow carries? Flows without a request pass (the proxy sees none). */
function l7Allows(l7: CompiledL7, facts: FlowFacts): boolean {
  const flow = facts.flow;
  if (flow.http) {
    if (l7.http === null) return l7.dns === null;
    const parts = facts.httpParts()!;
    return l7.http.some((m) => m(parts));
  }
  if (flow.dns && flow.dns.query !== '') {
    if (l7.dns === null) return l7.http === null;
    const name = normaliseDnsName(flow.dns.query);
    return l7.dns.some((m) => m(name));
  }
  return true;
}

function judgeDirection(identity: Identity, direction: Direction, facts: FlowFacts, exempt: boolean): DirectionOutcome {
  const policy = identity.policy(direction);
  let denied: CompiledRule[] | null = null;
  for (const rule of policy.deny) {
    if (matchL3L4(rule, facts, direction, null) !== NO_MATCH) (denied ??= []).push(rule);
  }
  if (denied !== null) return { decision: 'deny', allowedBy: NO_REFS, deniedBy: refsOf(denied), proxy: false };
  if (exempt || !policy.enforced) return ALLOW_UNENFORCED;
  // Most flows are allowed by exactly one rule: keep it aside and allocate a list only for more.
  let first: CompiledRule | null = null;
  let more: CompiledRule[] | null = null;
  let proxy = false;
  const l7 = L7_SCRATCH;
  for (const rule of policy.allow) {
    l7.length = 0;
    const m = matchL3L4(rule, facts, direction, l7);
    if (m === NO_MATCH) continue;
    if ((m & WITH_L7) !== 0) proxy = true;
    if ((m & PLAIN) === 0 && !l7.some((entry) => l7Allows(entry, facts))) continue;
    if (first === null) first = rule;
    else (more ??= [first]).push(rule);
  }
  if (first === null) return { decision: 'denied', allowedBy: NO_REFS, deniedBy: NO_REFS, proxy };
  return { decision: 'allow', allowedBy: more === null ? first.refs : refsOf(more), deniedBy: NO_REFS, proxy };
}
const L7_SCRATCH: CompiledL7[] = [];

/** Most merged allowed_by lists remembered at once. */
const MAX_MERGED = 20_000;

/** The sorted refs of matched rules; a single rule's shared list when only one matched. */
function refsOf(rules: readonly CompiledRule[]): readonly RuleRef[] {
  if (rules.length === 1) return rules[0]!.refs;
  return sortRuleRefs(rules.map((r) => r.ref));
}

/**
 * Precompiles a policy model into an evaluator.
 * @param model the policy model (from the loader)
 * @param options services for `toServices`, cache bounds
 * @returns an evaluator whose `judge` is pure given (flow, DNS cache contents)
 */
export function createEvaluator(model: PolicyModel, options: EvaluatorOptions = {}): Evaluator {
  const compiled = compileModel(model, options.services ?? []);
  const identities = new IdentityCache(compiled, options.maxCachedIdentities ?? 100_000);
  const ipCache = new Map<string, IpValue | null>();
  const egressFacts = new FlowFacts(ipCache);
  const ingressFacts = new FlowFacts(ipCache);
  // allowed_by of both directions, merged once per pair of lists (lists are shared per rule set). Bounded: pairs
  // grow with the model's size squared, so the memo starts over after MAX_MERGED pairs.
  let merged = new WeakMap<readonly RuleRef[], WeakMap<readonly RuleRef[], readonly RuleRef[]>>();
  let mergedCount = 0;
  const merge = (a: readonly RuleRef[], b: readonly RuleRef[]): readonly RuleRef[] => {
    if (a.length === 0) return b;
    if (b.length === 0) return a;
    if (mergedCount >= MAX_MERGED) {
      merged = new WeakMap();
      mergedCount = 0;
    }
    let inner = merged.get(a);
    if (inner === undefined) {
      inner = new WeakMap();
      merged.set(a, inner);
    }
    let both = inner.get(b);
    if (both === undefined) {
      both = Object.freeze(sortRuleRefs([...a, ...b]));
      inner.set(b, both);
      mergedCount++;
    }
    return both;
  };

  const audit = options.audit;
  const judgeOpening = (flow: Flow, dns: DnsCache, index: number): Verdict => {
    const srcIdentity = identities.of(flow.src);
    const dstIdentity = identities.of(flow.dst);
    const self = flow.src.ip !== '' && flow.src.ip === flow.dst.ip;
    let allowedBy: readonly RuleRef[] = NO_REFS;
    let proxy = false;
    // The first would-be drop at an audited point: the flow goes on, and only an enforced drop after it wins.
    let wouldDrop: { out: DirectionOutcome; at: 'egress' | 'ingress'; allowedBy: readonly RuleRef[] } | null = null;
    if (isEnforcementPoint(flow.src.kind)) {
      const out = judgeDirection(srcIdentity, 'egress', egressFacts.reset(flow, flow.dst, dstIdentity, dns), self);
      proxy = out.proxy;
      if (out.decision !== 'allow') {
        if (!auditsEndpoint(audit, flow.src)) return dropped(index, out, 'egress', NO_REFS, proxy);
        wouldDrop = { out, at: 'egress', allowedBy: NO_REFS };
      } else allowedBy = out.allowedBy;
    }
    if (isEnforcementPoint(flow.dst.kind)) {
      // The local host may always reach local pods; a node's own policy has no such exemption.
      const exempt = self || (flow.dst.kind === 'pod' && flow.src.kind === 'host');
      const out = judgeDirection(dstIdentity, 'ingress', ingressFacts.reset(flow, flow.src, srcIdentity, dns), exempt);
      proxy ||= out.proxy;
      if (out.decision !== 'allow') {
        if (!auditsEndpoint(audit, flow.dst)) return dropped(index, out, 'ingress', allowedBy, proxy);
        wouldDrop ??= { out, at: 'ingress', allowedBy };
      } else allowedBy = merge(allowedBy, out.allowedBy);
    }
    if (wouldDrop !== null) return { ...dropped(index, wouldDrop.out, wouldDrop.at, wouldDrop.allowedBy, proxy), verdict: 'AUDIT' };
    const verdict: Verdict = { index, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: allowedBy, denied_by: NO_REFS };
    return proxy ? { ...verdict, l7: 'proxy' } : verdict;
  };

  return {
    judge(flow: Flow, dns: DnsCache): Verdict {
      // IPv6 neighbour discovery is never subject to policy (Cilium answers it before policy; the datapath passes
      // ICMPv6 types 133..137 unjudged): without it no IPv6 traffic works at all.
      if (isNeighbourDiscovery(flow)) return { index: flow.index, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: NO_REFS, denied_by: NO_REFS };
      return judgeOpening(flow.isReply ? reverseFlow(flow) : flow, dns, flow.index);
    },
  };
}

/** ICMPv6 router/neighbour solicitation and advertisement, redirect (types 133..137). */
function isNeighbourDiscovery(flow: Flow): boolean {
  return flow.protocol === 'ICMPv6' && flow.icmpType !== undefined && flow.icmpType >= 133 && flow.icmpType <= 137;
}

function dropped(index: number, out: DirectionOutcome, at: 'egress' | 'ingress', allowedBy: readonly RuleRef[], proxy: boolean): Verdict {
  const verdict: Verdict = {
    index,
    verdict: 'DROPPED',
    drop_reason: out.decision === 'deny' ? 'POLICY_DENY' : 'POLICY_DENIED',
    dropped_at: at,
    allowed_by: allowedBy,
    denied_by: out.deniedBy,
  };
  return proxy ? { ...verdict, l7: 'proxy' } : verdict;
}
