/**
 * The diff as GitHub Actions workflow commands: one `::warning` annotation per head rule where a change is (the
 * connection's `changed_rules`: the deciding head rule, or the edited head version of a rule that no longer allows
 * it), placed on that rule's file and line so it shows in the pull request's diff view; a file-less warning for
 * connections with no such rule (the allowing policy was deleted); and a `::notice` with the headline.
 */
import type { RuleRef } from '../core/flow/types.js';
import { CHANGE_TITLE, connectionTitle, headline, plural, policyName, ruleKey, sideVerdict, type ConnectionChange, type DiffReport } from '../diff/index.js';
import { workflowCommand as command } from './workflow-commands.js';

export interface GithubOptions {
  /** Most annotations written (GitHub shows a limited number per step); the rest are summed up in one notice. */
  readonly maxAnnotations?: number;
}

const CONNECTIONS_PER_ANNOTATION = 5;

/**
 * Renders workflow commands, one per line.
 * @returns text ending in a newline.
 */
export function renderGithub(report: DiffReport, options: GithubOptions = {}): string {
  const max = options.maxAnnotations ?? 50;
  // Group changed connections by the head rule where the change is.
  const byRule = new Map<string, { ref: RuleRef; connections: ConnectionChange[] }>();
  const undecided: ConnectionChange[] = [];
  for (const c of report.connections) {
    const rules = c.changed_rules;
    if (rules.length === 0) undecided.push(c);
    for (const ref of rules) {
      const key = ruleKey(ref);
      let entry = byRule.get(key);
      if (!entry) byRule.set(key, (entry = { ref, connections: [] }));
      entry.connections.push(c);
    }
  }

  const lines: string[] = [];
  let left = 0;
  for (const { ref, connections } of byRule.values()) {
    if (lines.length >= max) {
      left++;
      continue;
    }
    const flows = connections.reduce((n, c) => n + c.flows, 0);
    const kinds = [...new Set(connections.map((c) => CHANGE_TITLE[c.change].toLowerCase()))].join(', ');
    lines.push(
      command(
        'warning',
        { file: ref.file, line: String(ref.line), title: `Palisade: ${kinds}: ${plural(flows, 'recorded flow')}` },
        `${policyName(ref)} (${ref.rule}) ${relation(ref, connections)} ${plural(connections.length, 'changed connection')}:\n` +
          listConnections(connections),
      ),
    );
  }
  if (undecided.length > 0) {
    if (lines.length < max) {
      lines.push(
        command(
          'warning',
          { title: `Palisade: ${plural(undecided.length, 'changed connection')} without a head rule to point at` },
          `No head rule decides these connections, and the rules that allowed them are gone:\n${listConnections(undecided)}`,
        ),
      );
    } else left++;
  }
  const tail = left > 0 ? ` (${plural(left, 'more annotation')} not written; see --format json)` : '';
  lines.push(command('notice', { title: 'Palisade traffic impact' }, headline(report) + tail));
  return `${lines.join('\n')}\n`;
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

function listConnections(connections: readonly ConnectionChange[]): string {
  const shown = connections
    .slice(0, CONNECTIONS_PER_ANNOTATION)
    .map((c) => `${connectionTitle(c)}: ${plural(c.flows, 'flow')}, ${sideVerdict(c.base)} → ${sideVerdict(c.head)}`);
  const more = connections.length - shown.length;
  if (more > 0) shown.push(`and ${plural(more, 'more connection')}`);
  return shown.join('\n');
}
