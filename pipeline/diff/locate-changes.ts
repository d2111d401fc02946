/**
 * Points each changed connection at the head rules where the change is. A connection newly dropped by default deny
 * has no deciding head rule; the rules that allowed it in base, in the direction where head drops it, usually still
 * exist in head, edited (a port, a selector), and a rule keeps its id (policy, spec index, direction, rule index)
 * across such an edit. Their head versions are where a reviewer should look, and where GitHub annotations go.
 */
import type { RuleRef } from '../core/flow/types.js';
import { ruleRef } from '../core/flow/types.js';
import type { Direction, PolicyModel } from '../core/model/types.js';
import { compareRules, ruleKey } from './aggregate.js';
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
