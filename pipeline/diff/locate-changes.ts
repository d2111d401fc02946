/**
 * Points each changed connection at the head rules where the change is. A connection newly dropped by default deny
 * has no deciding head rule; the rules that allowed it in base, in the direction where head drops it, usually still
 * exist in head, edited (a port, a selector), and a rule keeps its id (policy, spec index, direction, rule index)
 * across such an edit. Their head versions are where a reviewer should look, and where GitHub annotations go.
 */
import type { RuleRef } from '../core/flow/types.js';
import { ruleRef } from '../core/flow/types.js';
import type { FlowEndpoint } from '../core/flow/types.js';
import type { Direction, PolicyModel } from '../core/model/types.js';
import { matchesSelector } from '../core/model/selector-match.js';
import { compareRules, ruleKey } from './aggregate.js';
import { ENDPOINT_SELECTOR_RULE } from './changes-by-rule.js';
import type { ConnectionChange } from './report.js';

/**
 * Fills `changed_rules` of connections that head drops without a deny rule with the head versions of their base
 * allow rules for the direction(s) where head drops them.
 * @returns the connections, changed ones replaced, order kept.
 */
export function locateChangesInHead(connections: readonly ConnectionChange[], head: PolicyModel): ConnectionChange[] {
  let byId: Map<string, { ref: RuleRef; direction: Direction }> | undefined;
  return connections.map((c) => {
    if (c.change !== 'newly-blocked' || c.head.denied_by.length > 0 || c.base.allowed_by.length === 0) return c;
    byId ??= headRulesById(head);
    const found = new Map<string, RuleRef>();
    for (const ref of c.base.allowed_by) {
      const now = byId.get(ref.rule);
      if (now && c.head.dropped_at.includes(now.direction)) found.set(ruleKey(now.ref), now.ref);
    }
    return { ...c, changed_rules: [...found.values()].sort(compareRules) };
  });
}

function headRulesById(model: PolicyModel): Map<string, { ref: RuleRef; direction: Direction }> {
  const out = new Map<string, { ref: RuleRef; direction: Direction }>();
  for (const spec of model.specs) {
    for (const rule of spec.rules) out.set(rule.id, { ref: ruleRef(spec.policy, rule.id, rule.pos), direction: rule.direction });
  }
  return out;
}

/** The two sides of a changed connection as recorded (opener, server), when the diff kept them. */
export type ConnectionEndpoints = (c: ConnectionChange) => { readonly client: FlowEndpoint; readonly server: FlowEndpoint } | undefined;

/** The key {@link ConnectionEndpoints} lookups use: names, protocol and port of a connection. */
export function connectionEndpointsKey(source: string, destination: string, protocol: string, port: number | null): string {
  return `${source}\0${destination}\0${protocol}\0${port}`;
}

/**
 * Points connections that head newly drops by default deny, and that no rule location was found for, at the
 * `endpointSelector` of each brand-new head policy (absent from base) that puts the dropping side into default deny
 * in that direction: the line a reviewer must look at when a new policy starts isolating a pod.
 * @returns the connections, changed ones replaced, order kept.
 */
export function locateNewDefaultDeny(
  connections: readonly ConnectionChange[],
  head: PolicyModel,
  base: PolicyModel,
  endpointsOf: ConnectionEndpoints,
): ConnectionChange[] {
  const inBase = new Set(base.specs.map((s) => policyKey(s.policy)));
  const fresh = head.specs.filter((s) => s.subjectKind === 'endpoints' && !inBase.has(policyKey(s.policy)));
  if (fresh.length === 0) return [...connections];
  return connections.map((c) => {
    if (c.change !== 'newly-blocked' || c.changed_rules.length > 0 || c.head.denied_by.length > 0) return c;
    const ends = endpointsOf(c);
    if (!ends) return c;
    const found = new Map<string, RuleRef>();
    for (const dir of c.head.dropped_at) {
      // Egress drops happen at the opener, ingress drops at the server.
      const ep = dir === 'egress' ? ends.client : ends.server;
      for (const spec of fresh) {
        if (!spec.defaultDeny[dir] || !matchesSelector(spec.subject, ep.labels)) continue;
        const ref = ruleRef(spec.policy, `${policyKey(spec.policy)}${ENDPOINT_SELECTOR_RULE}`, spec.subject.pos);
        found.set(ruleKey(ref), ref);
      }
    }
    return found.size === 0 ? c : { ...c, changed_rules: [...found.values()].sort(compareRules) };
  });
}

function policyKey(p: { kind: string; namespace: string | null; name: string }): string {
  return `${p.kind}/${p.namespace ?? ''}/${p.name}`;
}
