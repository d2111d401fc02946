/**
 * The pure half of `onPullRequest`: from the gate configuration, what the diff stage found (config errors, head
 * policy errors, or a report), the pull request's labels and changed paths, to one result: the check's conclusion,
 * title, summary and annotations, and the comment body. No I/O; GitHub specifics (byte limits, batches, the comment
 * marker) are applied by pipeline/github.
 */
import { formatPos } from '../core/errors.js';
import type { Diagnostic } from '../core/validate/diagnostic.js';
import {
  changesByRule,
  GITHUB_COMMENT_LIMIT,
  plural,
  renderMarkdown,
  renderMermaid,
  ruleChangesMessage,
  ruleChangesTitle,
  type ChangeKind,
  type ConnectionChange,
  type DiffReport,
} from '../diff/index.js';
import { globMatcher, type GateAction, type GateActions, type GateConfig } from './gate-config.js';

/** A check run's conclusion, as GitHub names them. */
export type CheckConclusion = 'success' | 'neutral' | 'failure';

/** An annotation on one line of a file in the repository. */
export interface CheckAnnotation {
  /** Relative to the repository root. */
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  readonly level: 'failure' | 'warning' | 'notice';
  readonly title: string;
  readonly message: string;
}

/** What the diff stage produced for the pull request. */
export type PullRequestFindings =
  | { readonly kind: 'config-invalid'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'head-invalid'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'report'; readonly report: DiffReport; readonly headWarnings: readonly Diagnostic[]; readonly baseErrors: readonly Diagnostic[] };

/** Inputs of {@link judgePullRequest}. */
export interface PullRequestContext {
  readonly config: GateConfig;
  readonly findings: PullRequestFindings;
  readonly labels: readonly string[];
  readonly changedFiles: readonly string[];
  /** Where the flows came from, for the summary (`flows/recorded.json at main`). */
  readonly flowsDescription?: string;
}

/** The one result every front end (check run, comment, job summary, workflow commands, CLI) shows. */
export interface PullRequestResult {
  readonly conclusion: CheckConclusion;
  /** One line. */
  readonly title: string;
  /** Markdown; may exceed GitHub's limits (the GitHub layer cuts it). */
  readonly summary: string;
  /** Sorted by path and line. */
  readonly annotations: readonly CheckAnnotation[];
  /** Markdown of the pull-request comment, within GitHub's comment limit minus {@link COMMENT_RESERVE}. */
  readonly comment: string;
  /** The actions that applied after overrides, and which overrides matched. */
  readonly gate: { readonly actions: GateActions; readonly applied: readonly string[] };
  readonly report: DiffReport | null;
}

/** Characters of a comment left for the marker the GitHub layer adds. */
export const COMMENT_RESERVE = 500;
const LEVEL: Readonly<Record<GateAction, CheckAnnotation['level']>> = { fail: 'failure', warn: 'warning', allow: 'notice' };
const CONCLUSION: Readonly<Record<GateAction, CheckConclusion>> = { fail: 'failure', warn: 'neutral', allow: 'success' };

/**
 * Judges a pull request. Policy and configuration errors always fail; otherwise each kind of change gets its
 * action (after label and path overrides, later ones winning), newly blocked flows within the budget are allowed,
 * and the conclusion is the worst action that applied.
 */
export function judgePullRequest(ctx: PullRequestContext): PullRequestResult {
  const gate = effectiveActions(ctx.config, ctx.labels, ctx.changedFiles);
  const f = ctx.findings;
  if (f.kind !== 'report') {
    const errors = f.diagnostics.filter((d) => d.severity === 'error');
    const what = f.kind === 'config-invalid' ? 'palisade.yaml' : 'the policies';
    const title = `${plural(errors.length, 'error')} in ${what}`;
    const list = f.diagnostics.map((d) => `- \`${formatPos(d.pos)}\` ${d.severity}: ${escapeMd(d.message)} \`${d.code}\``).join('\n');
    const summary = `**${title}**: nothing was simulated. Fix ${f.kind === 'config-invalid' ? 'the gate configuration' : 'these'} and push again.\n\n${list}\n`;
    return {
      conclusion: 'failure',
      title,
      summary,
      annotations: sortAnnotations(f.diagnostics.filter((d) => d.pos.line > 0).map(diagnosticAnnotation)),
      comment: cut(`### Palisade: ${title}\n\n${summary}`, GITHUB_COMMENT_LIMIT - COMMENT_RESERVE),
      gate,
      report: null,
    };
  }

  const report = f.report;
  const blocked = report.flows.newly_blocked;
  const budget = ctx.config.budget.newlyBlockedFlows;
  const blockedAction: GateAction = blocked === 0 ? 'allow' : blocked <= budget ? 'allow' : gate.actions.newlyBlocked;
  const allowedAction: GateAction = report.flows.newly_allowed === 0 ? 'allow' : gate.actions.newlyAllowed;
  const actionOf: Readonly<Record<ChangeKind, GateAction>> = { 'newly-blocked': blockedAction, 'newly-allowed': allowedAction, 'l7-changed': 'allow' };
  const worst = [blockedAction, allowedAction].includes('fail') ? 'fail' : [blockedAction, allowedAction].includes('warn') ? 'warn' : 'allow';

  const annotations = [...changeAnnotations(report.connections, actionOf), ...f.headWarnings.filter((d) => d.pos.line > 0).map(diagnosticAnnotation)];
  const title = shortTitle(report);
  const gateLines = gateExplanation(ctx, gate, blocked, budget, blockedAction, allowedAction, f.baseErrors.length);
  const summary = `${gateLines}\n${renderMarkdown(report)}`;
  const header = `### Palisade: ${title}\n\n${gateLines}\n`;
  const graph = renderMermaid(report);
  const room = GITHUB_COMMENT_LIMIT - COMMENT_RESERVE - header.length - graph.length - 1;
  const comment = `${header}${graph}\n${renderMarkdown(report, { maxChars: Math.max(2_000, room) })}`;
  return { conclusion: CONCLUSION[worst], title, summary, annotations: sortAnnotations(annotations), comment, gate, report };
}

/** The configured actions after the overrides that match, and a description of each that matched. */
export function effectiveActions(config: GateConfig, labels: readonly string[], changedFiles: readonly string[]): { actions: GateActions; applied: string[] } {
  let actions = config.actions;
  const applied: string[] = [];
  for (const o of config.overrides) {
    const match = o.label !== undefined ? labels.includes(o.label) : o.path !== undefined && changedFiles.length > 0 && changedFiles.every(globMatcher(o.path));
    if (!match) continue;
    actions = { newlyBlocked: o.newlyBlocked ?? actions.newlyBlocked, newlyAllowed: o.newlyAllowed ?? actions.newlyAllowed };
    applied.push(o.label !== undefined ? `label \`${o.label}\`` : `path \`${o.path}\``);
  }
  return { actions, applied };
}

function shortTitle(report: DiffReport): string {
  const f = report.flows;
  const parts: string[] = [];
  if (f.newly_blocked > 0) parts.push(`blocks ${plural(f.newly_blocked, 'recorded flow')}`);
  if (f.newly_allowed > 0) parts.push(`allows ${plural(f.newly_allowed, 'more flow')}`);
  if (f.l7_changed > 0) parts.push(`changes L7 inspection of ${plural(f.l7_changed, 'flow')}`);
  if (parts.length === 0) return `No change to ${plural(f.total, 'recorded flow')}`;
  const s = parts.join(', ');
  return s[0]!.toUpperCase() + s.slice(1);
}

function gateExplanation(
  ctx: PullRequestContext,
  gate: { actions: GateActions; applied: readonly string[] },
  blocked: number,
  budget: number,
  blockedAction: GateAction,
  allowedAction: GateAction,
  baseErrors: number,
): string {
  const lines: string[] = [];
  const verdict = (a: GateAction): string => (a === 'fail' ? '**fails** the check' : a === 'warn' ? 'is a **warning**' : 'is allowed');
  if (blocked > 0) {
    lines.push(
      blocked <= budget
        ? `- ${plural(blocked, 'newly blocked flow')}: within the budget of ${formatBudget(budget)}, allowed.`
        : `- ${plural(blocked, 'newly blocked flow')} ${verdict(blockedAction)} (gate: newlyBlocked ${gate.actions.newlyBlocked}${budget > 0 ? `, budget ${formatBudget(budget)}` : ''}).`,
    );
  }
  if (ctx.findings.kind === 'report' && ctx.findings.report.flows.newly_allowed > 0) {
    lines.push(`- ${plural(ctx.findings.report.flows.newly_allowed, 'newly allowed flow')} ${verdict(allowedAction)} (gate: newlyAllowed ${gate.actions.newlyAllowed}).`);
  }
  if (gate.applied.length > 0) lines.push(`- Overrides applied: ${gate.applied.join(', ')}.`);
  if (baseErrors > 0) lines.push(`- The base policies have ${plural(baseErrors, 'error')}; those policies were left out of the comparison.`);
  if (ctx.flowsDescription) lines.push(`- Recorded traffic: ${ctx.flowsDescription}.`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function formatBudget(n: number): string {
  return plural(n, 'flow');
}

/** One annotation per head rule where a change is, at the gate's most severe level among its changes. */
function changeAnnotations(connections: readonly ConnectionChange[], actionOf: Readonly<Record<ChangeKind, GateAction>>): CheckAnnotation[] {
  const severity = (l: CheckAnnotation['level']): number => (l === 'failure' ? 2 : l === 'warning' ? 1 : 0);
  return changesByRule(connections).byRule.map((group) => ({
    path: group.ref.file,
    line: group.ref.line,
    level: group.connections.map((c) => LEVEL[actionOf[c.change]]).reduce((a, b) => (severity(b) > severity(a) ? b : a)),
    title: ruleChangesTitle(group),
    message: ruleChangesMessage(group),
  }));
}

function diagnosticAnnotation(d: Diagnostic): CheckAnnotation {
  return { path: d.pos.file, line: d.pos.line, level: d.severity === 'error' ? 'failure' : 'warning', title: d.code, message: d.message };
}

function sortAnnotations(list: CheckAnnotation[]): CheckAnnotation[] {
  return list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

/** Cuts Markdown to `max` characters with a note (only the error list can be this long). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = '\n\n… more not shown.\n';
  let end = max - note.length;
  // Never split a surrogate pair.
  if (end > 0 && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
  return text.slice(0, end) + note;
}
