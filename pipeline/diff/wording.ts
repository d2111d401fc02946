/**
 * The words every renderer shares: the headline, counts, and how a rule or a side's decision is named. Kept in one
 * place so the Markdown comment and the GitHub annotations say the same thing.
 */
import type { RuleRef } from '../core/flow/types.js';
import type { ChangeKind, ConnectionChange, DiffReport, SideSummary } from './report.js';

/** `1,234` */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 flow`, `1,234 flows` */
export function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** Connections per change kind. */
export function connectionCounts(report: DiffReport): Record<ChangeKind, number> {
  const counts: Record<ChangeKind, number> = { 'newly-blocked': 0, 'newly-allowed': 0, 'l7-changed': 0 };
  for (const c of report.connections) counts[c.change]++;
  return counts;
}

/**
 * One sentence: "This change newly blocks 1,234 flows in 3 connections and newly allows 5 flows in 1 connection."
 */
export function headline(report: DiffReport): string {
  const f = report.flows;
  const counts = connectionCounts(report);
  const parts: string[] = [];
  if (f.newly_blocked > 0) parts.push(`newly blocks ${plural(f.newly_blocked, 'flow')} in ${plural(counts['newly-blocked'], 'connection')}`);
  if (f.newly_allowed > 0) parts.push(`newly allows ${plural(f.newly_allowed, 'flow')} in ${plural(counts['newly-allowed'], 'connection')}`);
  let sentence: string;
  if (parts.length > 0) {
    sentence = `This change ${parts.join(' and ')}`;
    if (f.l7_changed > 0) sentence += `, and changes L7 inspection of ${plural(f.l7_changed, 'flow')}`;
  } else if (f.l7_changed > 0) {
    sentence = `This change blocks or allows no recorded flow; it changes L7 inspection of ${plural(f.l7_changed, 'flow')} in ${plural(counts['l7-changed'], 'connection')}`;
  } else {
    sentence = `This change does not change the verdict of any of the ${plural(f.total, 'recorded flow')}`;
  }
  if (f.not_grouped > 0) sentence += ` (${plural(f.not_grouped, 'more changed flow')} beyond the connection limit are counted but not grouped)`;
  return `${sentence}.`;
}

/** `CiliumNetworkPolicy shop/api-ingress` */
export function policyName(ref: RuleRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** `policies/shop/api.yaml:14` */
export function ruleLocation(ref: RuleRef): string {
  return `${ref.file}:${ref.line}`;
}

/** What a side decided, in words, without the rule list: `FORWARDED`, `DROPPED (POLICY_DENIED at egress)`. */
export function sideVerdict(side: SideSummary): string {
  const detail: string[] = [];
  if (side.drop_reasons.length > 0) detail.push(side.drop_reasons.join('/'));
  if (side.dropped_at.length > 0) detail.push(`at ${side.dropped_at.join('/')}`);
  if (side.l7_proxied) detail.push('via L7 proxy');
  return detail.length > 0 ? `${side.verdict} (${detail.join(' ')})` : side.verdict;
}

/**
 * The rules that decided a side: deny rules for a drop (or "no rule allows it" under default deny), allow rules for
 * a forward.
 */
export function decidingRules(side: SideSummary): readonly RuleRef[] {
  return side.verdict === 'DROPPED' ? side.denied_by : side.allowed_by;
}

/** `shop/frontend → data/db TCP/5432` */
export function connectionTitle(c: ConnectionChange): string {
  return `${c.source.name} → ${c.destination.name} ${c.port_label}`;
}

/** Noun phrase per change kind, for section titles. */
export const CHANGE_TITLE: Readonly<Record<ChangeKind, string>> = {
  'newly-blocked': 'Newly blocked',
  'newly-allowed': 'Newly allowed',
  'l7-changed': 'L7 inspection changed',
};
