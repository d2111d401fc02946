/**
 * The diff as GitHub Actions workflow commands: one `::warning` annotation per head rule where a change is (the
 * connection's `changed_rules`: the deciding head rule, the edited head version of a rule that no longer allows
 * it, or a brand-new policy's endpointSelector), placed on that rule's file and line so it shows in the pull
 * request's diff view; a file-less warning for connections with no such rule (the allowing policy was deleted);
 * and a `::notice` with the headline.
 */
import { changesByRule, headline, listConnections, plural, ruleChangesMessage, ruleChangesTitle, type DiffReport } from '../diff/index.js';
import { workflowCommand as command } from './workflow-commands.js';

export interface GithubOptions {
  /** Most annotations written (GitHub shows a limited number per step); the rest are summed up in one notice. */
  readonly maxAnnotations?: number;
}

/**
 * Renders workflow commands, one per line.
 * @returns text ending in a newline.
 */
export function renderGithub(report: DiffReport, options: GithubOptions = {}): string {
  const max = options.maxAnnotations ?? 50;
  const { byRule, unlocated } = changesByRule(report.connections);
  const lines: string[] = [];
  let left = 0;
  for (const group of byRule) {
    if (lines.length >= max) {
      left++;
      continue;
    }
    lines.push(command('warning', { file: group.ref.file, line: group.ref.line, title: ruleChangesTitle(group) }, ruleChangesMessage(group)));
  }
  if (unlocated.length > 0) {
    if (lines.length < max) {
      lines.push(
        command(
          'warning',
          { title: `Palisade: ${plural(unlocated.length, 'changed connection')} without a head rule to point at` },
          `No head rule decides these connections, and the rules that allowed them are gone:\n${listConnections(unlocated)}`,
        ),
      );
    } else left++;
  }
  const tail = left > 0 ? ` (${plural(left, 'more annotation')} not written; see --format json)` : '';
  lines.push(command('notice', { title: 'Palisade traffic impact' }, headline(report) + tail));
  return `${lines.join('\n')}\n`;
}
