/**
 * The diff as a pull-request comment: a headline, a summary table, one table per kind of change, rule details in
 * collapsible blocks, and the coverage extras. The output never exceeds the character limit (GitHub's 65,535 for a
 * comment by default); whatever does not fit is counted in an explicit "N more … not shown" note.
 */
import type { RuleRef } from '../core/flow/types.js';
import { escapeUntrusted } from '../core/text/index.js';
import { BoundedText } from './bounded-text.js';
import { rfc3339Nanos } from './time-order.js';
import type { ChangeKind, ConnectionChange, DiffReport, RefInfo, SideSummary } from './report.js';
import {
  CHANGE_TITLE,
  connectionCounts,
  connectionTitle,
  decidingRules,
  formatCount,
  headline,
  plural,
  policyName,
  ruleLocation,
  sideVerdict,
} from './wording.js';

/** GitHub's limit on the body of an issue or pull-request comment, in characters. */
export const GITHUB_COMMENT_LIMIT = 65_535;

export interface MarkdownOptions {
  /** Hard limit on the output length (UTF-16 code units). Default {@link GITHUB_COMMENT_LIMIT}; at least 2,000. */
  readonly maxChars?: number;
}

const KINDS: readonly ChangeKind[] = ['newly-blocked', 'newly-allowed', 'l7-changed'];
// Room kept for a listing's "N more … not shown" line and for the closing footer.
const NOTE_RESERVE = 240;
const FOOTER_RESERVE = 700;
// Rules named in one table cell; the details block names up to the report's limit.
const RULES_PER_CELL = 2;
// Rows per change table, so that a flood of one kind of change leaves room for the others.
const ROWS_PER_TABLE = 100;

/**
 * Renders the report as GitHub-flavoured Markdown.
 * @returns at most `maxChars` characters.
 * @throws RangeError when `maxChars` is below 2,000 (too small for the headline and the summary).
 */
export function renderMarkdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const limit = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  if (limit < 2_000) throw new RangeError(`a Markdown report needs at least 2,000 characters, not ${limit}`);
  const out = new BoundedText(limit);
  out.reserve(FOOTER_RESERVE);
  const omitted = { connections: 0, details: 0, rules: 0, endpoints: 0 };

  out.tryAppend(summary(report));

  const byKind = new Map<ChangeKind, ConnectionChange[]>(KINDS.map((k) => [k, []]));
  for (const c of report.connections) byKind.get(c.change)!.push(c);

  for (const kind of KINDS) {
    const list = byKind.get(kind)!;
    if (list.length === 0) continue;
    omitted.connections += writeListing(
      out,
      `\n#### ${CHANGE_TITLE[kind]} (${plural(list.length, 'connection')})\n\n` +
        '| Source | Destination | Port | Flows | First seen | Last seen | Head | Base |\n' +
        '|---|---|---|--:|---|---|---|---|\n',
      list.length,
      (i) => tableRow(list[i]!),
      '',
      (n) => `${plural(n, 'more connection')} (${plural(sumFlows(list, list.length - n), 'flow')}) not shown`,
      ROWS_PER_TABLE,
    );
  }

  for (const kind of KINDS) {
    const list = byKind.get(kind)!;
    if (list.length === 0) continue;
    omitted.details += writeListing(
      out,
      `\n<details><summary>${CHANGE_TITLE[kind]}: deciding rules of ${plural(list.length, 'connection')}</summary>\n\n`,
      list.length,
      (i) => detailBlock(list[i]!),
      '</details>\n',
      (n) => `rule details of ${plural(n, 'more connection')} not shown`,
    );
  }

  const rules = report.unmatched_rules;
  if (rules && rules.length > 0) {
    omitted.rules += writeListing(
      out,
      `\n<details><summary>${plural(rules.length, 'head rule')} decided no recorded flow</summary>\n\n` +
        'Either dead rules or traffic the recording lacks.\n\n',
      rules.length,
      (i) => {
        const r = rules[i]!;
        return `- ${code(ruleLocation(r))} ${cell(policyName(r))}: ${r.direction} ${r.action} (${cell(r.rule)})\n`;
      },
      '\n</details>\n',
      (n) => `${plural(n, 'more rule')} not shown`,
    );
  }

  const pods = report.unselected_endpoints;
  if (pods && pods.length > 0) {
    omitted.endpoints += writeListing(
      out,
      `\n<details><summary>${plural(pods.length, 'workload')} in the recording ${pods.length === 1 ? 'is' : 'are'} selected by no policy</summary>\n\n` +
        'Nothing is enforced on these pods in either direction.\n\n| Workload | Flows | Pods |\n|---|--:|---|\n',
      pods.length,
      (i) => {
        const p = pods[i]!;
        return `| ${cell(p.name)} | ${formatCount(p.flows)} | ${p.sample_pods.map(code).join(', ')} |\n`;
      },
      '\n</details>\n',
      (n) => `${plural(n, 'more workload')} not shown`,
    );
  }

  out.release(footer(report, omitted, limit), FOOTER_RESERVE);
  return out.toString();
}

function summary(report: DiffReport): string {
  const counts = connectionCounts(report);
  const f = report.flows;
  const rows = [
    `| Newly blocked | ${formatCount(f.newly_blocked)} | ${formatCount(counts['newly-blocked'])} |`,
    `| Newly allowed | ${formatCount(f.newly_allowed)} | ${formatCount(counts['newly-allowed'])} |`,
    `| L7 inspection changed | ${formatCount(f.l7_changed)} | ${formatCount(counts['l7-changed'])} |`,
    `| Recorded flows simulated | ${formatCount(f.total)} | |`,
  ];
  return (
    `### Palisade: traffic impact of this change\n\n**${headline(report)}**\n\n` +
    `Base ${refText(report.base)}, head ${refText(report.head)}.\n\n` +
    `| | Flows | Connections |\n|---|--:|--:|\n${rows.join('\n')}\n`
  );
}

/**
 * Writes a heading, then rows while they fit (at most `maxRows`), then the closing text; a cut listing ends with a
 * "not shown" line.
 * @returns how many rows were left out.
 */
function writeListing(
  out: BoundedText,
  head: string,
  count: number,
  row: (i: number) => string,
  tail: string,
  notShown: (n: number) => string,
  maxRows = Number.POSITIVE_INFINITY,
): number {
  const reserved = tail.length + NOTE_RESERVE;
  out.reserve(reserved);
  if (!out.tryAppend(head)) {
    out.release('', reserved);
    return count;
  }
  let shown = 0;
  while (shown < count && shown < maxRows && out.tryAppend(row(shown))) shown++;
  const left = count - shown;
  out.release((left > 0 ? `\n_… ${notShown(left)} (see \`--format json\`)._\n` : '') + tail, reserved);
  return left;
}

function tableRow(c: ConnectionChange): string {
  return (
    `| ${cell(c.source.name)} | ${cell(c.destination.name)} | ${c.port_label} | ${formatCount(c.flows)} | ` +
    `${shortTime(c.first_seen)} | ${shortTime(c.last_seen)} | ${sideCell(c.head, c.changed_rules)} | ${sideCell(c.base, [])} |\n`
  );
}

/** The verdict and its rules; with no deciding rule, the edited rules (`changed_rules`) the change comes from. */
function sideCell(side: SideSummary, edited: readonly RuleRef[]): string {
  const rules = decidingRules(side);
  const list = (refs: readonly RuleRef[]): string[] => refs.slice(0, RULES_PER_CELL).map((r) => `${code(ruleLocation(r))} ${cell(shortPolicy(r))}`);
  const named = list(rules);
  const more = rules.length - named.length + side.rules_omitted;
  if (more > 0) named.push(`+${formatCount(more)} more`);
  if (named.length > 0) return `${sideVerdict(side)}<br>${named.join('<br>')}`;
  const was = edited.length > 0 ? `<br>edited: ${list(edited).join('<br>')}` : '';
  return `${sideVerdict(side)}<br>${noRule(side)}${was}`;
}

function detailBlock(c: ConnectionChange): string {
  const when =
    c.first_seen !== null ? ` · first ${cell(c.first_seen)}` + (c.last_seen !== c.first_seen ? ` · last ${cell(c.last_seen ?? '')}` : '') : '';
  return (
    `**${cell(connectionTitle(c))}** · ${plural(c.flows, 'flow')}${when}\n` +
    `- head: ${sideDetail(c.head)}\n` +
    `- base: ${sideDetail(c.base)}\n` +
    editedRules(c) +
    `- seen: ${c.sample_sources.map(code).join(', ')} → ${c.sample_destinations.map(code).join(', ')}; ` +
    `flow index ${c.sample_flow_indexes.join(', ')}${c.flows > c.sample_flow_indexes.length ? ', …' : ''}\n` +
    (c.sample_requests.length > 0 ? `- requests: ${c.sample_requests.map(code).join(', ')}\n` : '') +
    '\n'
  );
}

/** For a connection head drops by default deny: the head versions of the rules that allowed it. */
function editedRules(c: ConnectionChange): string {
  if (c.changed_rules.length === 0 || decidingRules(c.head).length > 0) return '';
  return `- no longer allowed by the edited ${c.changed_rules.map((r) => `${code(ruleLocation(r))} ${cell(policyName(r))}`).join('; ')}\n`;
}

function sideDetail(side: SideSummary): string {
  const rules = decidingRules(side);
  const verb = side.verdict === 'DROPPED' ? 'denied by' : 'allowed by';
  const text =
    rules.length === 0
      ? noRule(side)
      : `${verb} ${rules.map((r) => `${code(ruleLocation(r))} ${cell(policyName(r))} (${cell(r.rule)})`).join('; ')}`;
  return `${sideVerdict(side)}: ${text}${side.rules_omitted > 0 ? `; ${plural(side.rules_omitted, 'more rule')}` : ''}`;
}

function noRule(side: SideSummary): string {
  if (side.verdict === 'FORWARDED') return 'no policy enforced';
  return side.l7_proxied ? 'no L7 rule allows the request' : 'no rule allows it (default deny)';
}

function shortPolicy(r: RuleRef): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

function footer(
  report: DiffReport,
  omitted: { connections: number; details: number; rules: number; endpoints: number },
  limit: number,
): string {
  const cut: string[] = [];
  if (omitted.connections > 0) cut.push(plural(omitted.connections, 'connection'));
  if (omitted.details > 0) cut.push(`rule details of ${plural(omitted.details, 'connection')}`);
  if (omitted.rules > 0) cut.push(plural(omitted.rules, 'unmatched rule'));
  if (omitted.endpoints > 0) cut.push(plural(omitted.endpoints, 'unselected workload'));
  const note =
    cut.length > 0
      ? `\n> [!NOTE]\n> This comment is cut to fit ${formatCount(limit)} characters: ${cut.join(', ')} not shown. ` +
        '`palisade diff --format json` lists everything.\n'
      : '';
  return `${note}\n<sub>Simulated ${plural(report.flows.total, 'recorded flow')} under both policy sets with Palisade.</sub>\n`;
}

/** `2026-11-20 09:00:02Z`: recorded times to the second, in UTC, for table cells. */
function shortTime(time: string | null): string {
  if (time === null) return '';
  const ns = rfc3339Nanos(time);
  return ns === null ? cell(time) : `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function refText(ref: RefInfo): string {
  const name = ref.ref.length > 80 ? `${ref.ref.slice(0, 79)}…` : ref.ref;
  return `${code(name)}${ref.commit ? ` (${ref.commit.slice(0, 12)})` : ''}`;
}

function sumFlows(list: readonly ConnectionChange[], from: number): number {
  let n = 0;
  for (let i = from; i < list.length; i++) n += list[i]!.flows;
  return n;
}

/** Text made safe for a table cell and for inline HTML: no pipes, angle brackets, line breaks or terminal escapes. */
function cell(text: string): string {
  return escapeUntrusted(text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/[\r\n]+/g, ' '));
}

/** Inline code that survives any content (backticks included) and table cells. */
function code(text: string): string {
  const fence = text.includes('`') ? '`` ' : '`';
  const close = fence === '`` ' ? ' ``' : '`';
  return `${fence}${escapeUntrusted(text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' '))}${close}`;
}
