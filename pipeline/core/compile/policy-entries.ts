/**
 * Per-endpoint policy entries: every rule that selects an endpoint, resolved into (identity × protocol × port
 * prefix) rows, then distilled so that the ABI's two-lookup algorithm answers exactly what the reference evaluator
 * answers — verdict, proxy redirect and the full list of deciding rules.
 *
 * Distillation: for each identity X, the rows of X plus every identity-0 row nested inside a row of X are emitted
 * for X, each carrying the aggregate of all rows (of X and of 0) that contain it: deny if any of them denies (the
 * deny rules as attribution), else allow with every allowing rule and the proxy flag of any L7 rule. Prefixes that
 * contain one packet are nested, so the longest match holds the aggregate of every rule matching that packet, and the
 * identity-specific lookup is never shorter than the wildcard one. No allow row can then lie inside a deny row of the
 * same identity.
 */
import type { Direction } from '../model/types.js';
import { PROTOCOL_NUMBER } from '../model/types.js';
import type { FlowEndpoint, NamedPort, RuleRef } from '../flow/types.js';
import type { CompiledPortRule, CompiledRule } from '../evaluate/compile-model.js';
import type { DirectionPolicy } from '../evaluate/identity-cache.js';
import { sortRuleRefs } from '../evaluate/rule-ref-order.js';
import { ANY_L4, compareL4, l4Key, type L4Prefix } from './l4-prefix.js';
import { splitPortRange } from './port-prefix.js';

/** One resolved row before distillation. */
interface RawRow {
  readonly identity: number;
  readonly l4: L4Prefix;
  readonly deny: boolean;
  readonly proxy: boolean;
  /** null: an allow that names no rule (direction not enforced, host exemption). */
  readonly ref: RuleRef | null;
}

/** A distilled row of one endpoint and direction; `refs` become a rule-table id. */
export interface DistilledRow {
  readonly identity: number;
  readonly l4: L4Prefix;
  readonly deny: boolean;
  readonly proxy: boolean;
  /** Sorted, de-duplicated deciding rules (deny rules for a deny row). */
  readonly refs: readonly RuleRef[];
}

/** What the entry builder needs to know about peers. */
export interface PeerResolver {
  /** Identities selected by a rule's peers in a direction; [0] when the rule names any peer. */
  identitiesOf(rule: CompiledRule, direction: Direction): readonly number[];
  /** Every identity (for named ports on egress without peers, resolved per destination). */
  allIdentities(): readonly number[];
  /** Named ports of an identity's representative (the destination when it is the peer). */
  namedPortsOf(identity: number): readonly NamedPort[];
  /** Identities of the local host (`host` kind): exempt from ingress default-deny. */
  hostIdentities(): readonly number[];
}

function protocolNumber(p: 'TCP' | 'UDP' | 'SCTP'): number {
  return PROTOCOL_NUMBER[p];
}

function portPrefixes(protocol: number, from: number, to: number): L4Prefix[] {
  return splitPortRange(from, to).map((p) => ({ protocol, port: p.port, portPrefixLen: p.prefixLen }));
}

/** L4 prefixes of one port rule; named ports resolve on `namedPorts` (the destination's). */
function portRulePrefixes(pr: CompiledPortRule, namedPorts: readonly NamedPort[] | null): L4Prefix[] {
  // A port rule without ports (only L7) covers every port of every transport protocol.
  if (pr.ranges.length === 0) return [6, 17, 132].map((protocol) => ({ protocol, port: 0, portPrefixLen: 0 }));
  const out: L4Prefix[] = [];
  for (const r of pr.ranges) {
    const protocol = protocolNumber(r.protocol);
    if (r.name !== undefined) {
      if (namedPorts === null) continue;
      const np = namedPorts.find((n) => n.name === r.name && n.protocol === r.protocol);
      if (np !== undefined) out.push(...portPrefixes(protocol, np.port, np.port));
      continue;
    }
    out.push(...portPrefixes(protocol, r.from, r.to));
  }
  return out;
}

function hasNamedPorts(rule: CompiledRule): boolean {
  return (rule.ports ?? []).some((pr) => pr.ranges.some((r) => r.name !== undefined));
}

/** The raw rows of one rule for one endpoint. */
function rowsOfRule(
  rule: CompiledRule,
  deny: boolean,
  direction: Direction,
  subject: FlowEndpoint,
  peers: PeerResolver,
  out: RawRow[],
): void {
  const ref = rule.ref;
  const push = (identities: readonly number[], l4: L4Prefix, proxy: boolean): void => {
    for (const identity of identities) out.push({ identity, l4, deny, proxy: proxy && !deny, ref });
  };
  let identities = peers.identitiesOf(rule, direction);
  if (identities.length === 0) return;
  if (rule.ports === null && rule.icmps === null) {
    push(identities, ANY_L4, false);
    return;
  }
  for (const m of rule.icmps ?? []) {
    push(identities, { protocol: m.family === 4 ? PROTOCOL_NUMBER.ICMP : PROTOCOL_NUMBER.ICMPv6, port: (m.type & 0xff) << 8, portPrefixLen: 8 }, false);
  }
  if (rule.ports === null) return;
  if (direction === 'ingress') {
    // The destination is the endpoint itself: named ports resolve on it.
    for (const pr of rule.ports) for (const l4 of portRulePrefixes(pr, subject.namedPorts ?? [])) push(identities, l4, pr.l7 !== null);
    return;
  }
  // Egress: numeric ports apply to every selected identity; named ports resolve on each destination identity.
  for (const pr of rule.ports) for (const l4 of portRulePrefixes(pr, null)) push(identities, l4, pr.l7 !== null);
  if (!hasNamedPorts(rule)) return;
  if (identities.includes(0)) identities = peers.allIdentities();
  for (const identity of identities) {
    const named = peers.namedPortsOf(identity);
    if (named.length === 0) continue;
    for (const pr of rule.ports) {
      const onlyNamed: CompiledPortRule = { ranges: pr.ranges.filter((r) => r.name !== undefined), l7: pr.l7 };
      if (onlyNamed.ranges.length === 0) continue;
      for (const l4 of portRulePrefixes(onlyNamed, named)) push([identity], l4, pr.l7 !== null);
    }
  }
}

/**
 * Resolves and distils the rows of one endpoint in one direction.
 * @param policy the endpoint's rules in this direction (the evaluator's resolution of which specs select it)
 * @returns rows sorted by identity, protocol, port, prefix length
 */
export function distilDirection(policy: DirectionPolicy, direction: Direction, subject: FlowEndpoint, peers: PeerResolver): DistilledRow[] {
  const raw: RawRow[] = [];
  for (const rule of policy.deny) rowsOfRule(rule, true, direction, subject, peers, raw);
  const exempt = new Set<number>();
  if (policy.enforced) {
    for (const rule of policy.allow) rowsOfRule(rule, false, direction, subject, peers, raw);
    if (direction === 'ingress' && subject.kind === 'pod') {
      // The local host may always reach local pods (unless a deny says otherwise); a node's own policy has no such
      // exemption.
      for (const h of peers.hostIdentities()) {
        exempt.add(h);
        raw.push({ identity: h, l4: ANY_L4, deny: false, proxy: false, ref: null });
      }
    }
  } else {
    raw.push({ identity: 0, l4: ANY_L4, deny: false, proxy: false, ref: null });
  }
  return distil(raw, exempt);
}

function distil(raw: readonly RawRow[], exempt: ReadonlySet<number>): DistilledRow[] {
  const byIdentity = new Map<number, RawRow[]>();
  for (const r of raw) {
    const list = byIdentity.get(r.identity);
    if (list) list.push(r);
    else byIdentity.set(r.identity, [r]);
  }
  const wildcardRows = byIdentity.get(0) ?? [];
  const wildcardPrefixes = distinctPrefixes(wildcardRows);
  const out: DistilledRow[] = [];
  for (const identity of [...byIdentity.keys()].sort((a, b) => a - b)) {
    const own = byIdentity.get(identity)!;
    const prefixes = new Map<string, L4Prefix>(distinctPrefixes(own).map((p) => [l4Key(p), p]));
    const contributors = new ContainmentIndex(identity === 0 ? own : [...own, ...wildcardRows]);
    if (identity !== 0) {
      const ownIndex = new ContainmentIndex(own);
      for (const q of wildcardPrefixes) if (ownIndex.containing(q).length > 0) prefixes.set(l4Key(q), q);
    }
    for (const s of [...prefixes.values()].sort(compareL4)) {
      out.push(aggregate(identity, s, contributors.containing(s), exempt.has(identity)));
    }
  }
  return out;
}

/** Rows indexed by prefix, so that the rows containing a prefix are at most 18 lookups away. */
class ContainmentIndex {
  private readonly byKey = new Map<string, RawRow[]>();
  constructor(rows: readonly RawRow[]) {
    for (const r of rows) {
      const k = l4Key(r.l4);
      const list = this.byKey.get(k);
      if (list) list.push(r);
      else this.byKey.set(k, [r]);
    }
  }

  /** Every row whose prefix contains `s` (`s` included). */
  containing(s: L4Prefix): RawRow[] {
    const out: RawRow[] = [...(this.byKey.get(l4Key(ANY_L4)) ?? [])];
    if (s.protocol === 0) return out;
    for (let bits = 0; bits <= s.portPrefixLen; bits++) {
      const port = bits === 0 ? 0 : (s.port >>> (16 - bits)) << (16 - bits);
      out.push(...(this.byKey.get(l4Key({ protocol: s.protocol, port, portPrefixLen: bits })) ?? []));
    }
    return out;
  }
}

function distinctPrefixes(rows: readonly RawRow[]): L4Prefix[] {
  const m = new Map<string, L4Prefix>();
  for (const r of rows) m.set(l4Key(r.l4), r.l4);
  return [...m.values()];
}

function aggregate(identity: number, l4: L4Prefix, rows: readonly RawRow[], exempt: boolean): DistilledRow {
  const denies = rows.filter((r) => r.deny);
  if (denies.length > 0) return { identity, l4, deny: true, proxy: false, refs: refsOf(denies) };
  if (exempt) return { identity, l4, deny: false, proxy: false, refs: [] };
  return { identity, l4, deny: false, proxy: rows.some((r) => r.proxy), refs: refsOf(rows) };
}

function refsOf(rows: readonly RawRow[]): RuleRef[] {
  const refs: RuleRef[] = [];
  for (const r of rows) if (r.ref !== null) refs.push(r.ref);
  return sortRuleRefs(refs);
}
