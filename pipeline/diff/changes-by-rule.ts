/**
 * Changed connections grouped by the head rule where each change is (`changed_rules`), with the words every
 * annotation uses: what the rule does to them and a short list. Shared by the workflow-command annotations and the
 * check-run annotations so both say the same thing.
 */
import type { RuleRef } from '../core/flow/types.js';
import { ruleKey } from './aggregate.js';
import type { ConnectionChange } from './report.js';
import { CHANGE_TITLE, connectionTitle, plural, policyName, sideVerdict } from './wording.js';

/** One head rule and the changed connections located at it. */
export interface RuleChanges {
  readonly ref: RuleRef;
  readonly connections: readonly ConnectionChange[];
}

/** Suffix of the rule id of a located `endpointSelector` (a brand-new policy's default deny). */
export const ENDPOINT_SELECTOR_RULE = '/endpointSelector';

/**
 * Groups connections by their changed rules, in first-seen order.
 * @returns the groups, and the connections that have no rule to point at.
 */
export function changesByRule(connections: readonly ConnectionChange[]): { byRule: RuleChanges[]; unlocated: ConnectionChange[] } {
  const map = new Map<string, { ref: RuleRef; connections: ConnectionChange[] }>();
  const unlocated: ConnectionChange[] = [];
  for (const c of connections) {
    if (c.changed_rules.length === 0) unlocated.push(c);
    for (const ref of c.changed_rules) {
      const key = ruleKey(ref);
      let entry = map.get(key);
      if (!entry) map.set(key, (entry = { ref, connections: [] }));
      entry.connections.push(c);
    }
  }
  return { byRule: [...map.values()], unlocated };
}

/** `Palisade: newly blocked: 42 recorded flows` */
export function ruleChangesTitle(group: RuleChanges): string {
  const flows = group.connections.reduce((n, c) => n + c.flows, 0);
  const kinds = [...new Set(group.connections.map((c) => CHANGE_TITLE[c.change].toLowerCase()))].join(', ');
  return `Palisade: ${kinds}: ${plural(flows, 'recorded flow')}`;
}

/** `CiliumNetworkPolicy data/redis (rule) no longer allows 1 changed connection:` and the list. */
export function ruleChangesMessage(group: RuleChanges, perAnnotation = 5): string {
  const { ref, connections } = group;
  const what = ref.rule.endsWith(ENDPOINT_SELECTOR_RULE)
    ? `${policyName(ref)} is new and puts the pods it selects into default deny; nothing allows`
    : `${policyName(ref)} (${ref.rule}) ${relation(ref, connections)}`;
  return `${what} ${plural(connections.length, 'changed connection')}:\n${listConnections(connections, perAnnotation)}`;
}

/** Up to `max` connections, one per line, then `and N more connections`. */
export function listConnections(connections: readonly ConnectionChange[], max = 5): string {
  const shown = connections.slice(0, max).map((c) => `${connectionTitle(c)}: ${plural(c.flows, 'flow')}, ${sideVerdict(c.base)} → ${sideVerdict(c.head)}`);
  const more = connections.length - shown.length;
  if (more > 0) shown.push(`and ${plural(more, 'more connection')}`);
  return shown.join('\n');
}

/** What the rule does to the connections: `denies`, `allows`, or `no longer allows` (an edited allow rule). */
function relation(ref: RuleRef, connections: readonly ConnectionChange[]): string {
  const key = ruleKey(ref);
  const verbs = new Set(
    connections.map((c) =>
      c.head.denied_by.some((r) => ruleKey(r) === key) ? 'denies' : c.head.allowed_by.some((r) => ruleKey(r) === key) ? 'allows' : 'no longer allows',
    ),
  );
  return verbs.size === 1 ? [...verbs][0]! : 'decides';
}
