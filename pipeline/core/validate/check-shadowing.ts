/**
 * Warning for allow rules that can never take effect because a deny rule on the same subject covers them entirely
 * (deny beats allow in every policy kind). The check is conservative: it only warns when coverage is certain from
 * the rules alone (the deny's subject is implied by the allow's, and every peer and port of the allow lies inside
 * the deny).
 */
import { formatPos } from '../errors.js';
import { prefixContains, parsePrefix } from '../model/cidr.js';
import type { IcmpMatch, Peer, PolicyRule, PolicySpec, PortRange, Selector } from '../model/types.js';
import { warningAt, type Diagnostic } from './diagnostic.js';

function selectorKey(s: Selector): string {
  return JSON.stringify(s.requirements);
}

function peerCovered(a: Peer, denyPeers: readonly Peer[]): boolean {
  return denyPeers.some((d) => {
    if (d.kind === 'entities' && d.entities.includes('all')) return true;
    if (a.kind !== d.kind) return false;
    switch (a.kind) {
      case 'endpoints':
      case 'nodes':
        return selectorKey(a.selector) === selectorKey((d as typeof a).selector);
      case 'entities':
        return a.entities.every((e) => (d as typeof a).entities.includes(e));
      case 'cidr': {
        const dc = d as typeof a;
        const outer = parsePrefix(dc.cidr);
        const inner = parsePrefix(a.cidr);
        return !!outer && !!inner && dc.except.length === 0 && dc.matchesPods === a.matchesPods && prefixContains(outer, inner);
      }
      case 'fqdn': {
        const df = d as typeof a;
        return a.matchName === df.matchName && a.matchPattern === df.matchPattern;
      }
      default:
        return false;
    }
  });
}

function portCovered(a: PortRange, deny: readonly PortRange[]): boolean {
  return deny.some(
    (d) =>
      d.protocol === a.protocol &&
      (d.name === undefined ? (a.name === undefined ? d.from <= a.from && a.to <= d.to : d.from === 0 && d.to === 65535) : d.name === a.name),
  );
}

function icmpCovered(a: IcmpMatch, deny: readonly IcmpMatch[]): boolean {
  return deny.some((d) => d.family === a.family && d.type === a.type);
}

/** True when deny rule `d` matches every flow allow rule `a` matches. */
export function denyCovers(d: PolicyRule, a: PolicyRule): boolean {
  if (a.direction !== d.direction || a.peers?.length === 0) return false;
  const dAll = d.peers === null || d.peers.some((p) => p.kind === 'entities' && p.entities.includes('all'));
  if (!dAll) {
    if (a.peers === null || !a.peers.every((p) => peerCovered(p, d.peers!))) return false;
  }
  if (d.ports === null && d.icmps === null) return true;
  if (a.ports === null && a.icmps === null) return false;
  const denyRanges = (d.ports ?? []).flatMap((p) => p.ports);
  const portsOk = a.ports === null || a.ports.every((pr) => pr.ports.every((r) => portCovered(r, denyRanges)));
  const icmpsOk = a.icmps === null || a.icmps.every((m) => icmpCovered(m, d.icmps ?? []));
  return portsOk && icmpsOk;
}

/** Most subject requirements for which every subset is looked up (2^n lookups); larger subjects use exact match. */
const MAX_SUBSET_REQUIREMENTS = 8;

/**
 * Warnings for shadowed allow rules across the given specs. A deny applies to every endpoint an allow applies to
 * when the deny's subject requirements are a subset of the allow's (fewer constraints select a superset), e.g. a
 * cluster-wide `endpointSelector: {}` deny covers every namespaced allow.
 */
export function checkShadowedAllows(specs: readonly PolicySpec[]): Diagnostic[] {
  const denySpecs = new Map<string, PolicySpec[]>();
  for (const s of specs) {
    if (!s.rules.some((r) => r.action === 'deny')) continue;
    const k = `${s.subjectKind}|${selectorKey(s.subject)}`;
    const g = denySpecs.get(k);
    if (g) g.push(s);
    else denySpecs.set(k, [s]);
  }
  const out: Diagnostic[] = [];
  if (denySpecs.size === 0) return out;
  for (const s of specs) {
    const allows = s.rules.filter((r) => r.action === 'allow');
    if (allows.length === 0) continue;
    const denies = coveringDenySpecs(s, denySpecs).flatMap((d) => d.rules.filter((r) => r.action === 'deny'));
    if (denies.length === 0) continue;
    for (const a of allows) {
      const d = denies.find((x) => denyCovers(x, a));
      if (d) {
        out.push(warningAt('deny-shadows-allow', `this allow rule never takes effect: the deny rule at ${formatPos(d.pos)} covers all of it (deny wins)`, a.pos));
      }
    }
  }
  return out;
}

/** Deny specs whose subject selects at least every endpoint `spec` selects (requirement subsets). */
function coveringDenySpecs(spec: PolicySpec, denySpecs: ReadonlyMap<string, PolicySpec[]>): PolicySpec[] {
  const reqs = spec.subject.requirements;
  const found: PolicySpec[] = [];
  if (reqs.length > MAX_SUBSET_REQUIREMENTS) {
    found.push(...(denySpecs.get(`${spec.subjectKind}|${JSON.stringify(reqs)}`) ?? []));
    return found;
  }
  for (let mask = 0; mask < 1 << reqs.length; mask++) {
    const subset = reqs.filter((_, i) => mask & (1 << i));
    const g = denySpecs.get(`${spec.subjectKind}|${JSON.stringify(subset)}`);
    if (g) found.push(...g);
  }
  return found;
}
