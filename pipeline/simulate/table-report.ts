/**
 * `--format table`: one fixed-width row per flow for people reading a terminal; the deciding rule is shown as
 * `name (file:line)`. Streamed, so column widths are fixed and long names are shortened with `…`.
 */
import type { Flow, RuleRef, Verdict } from '../core/flow/types.js';
import { escapeUntrusted } from '../core/text/index.js';
import { endpointName, portName } from './endpoint-name.js';

const COLUMNS: readonly [string, number][] = [
  ['INDEX', 7],
  ['VERDICT', 9],
  ['REASON', 13],
  ['AT', 7],
  ['SOURCE', 28],
  ['DESTINATION', 28],
  ['PORT', 11],
];

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function ruleText(refs: readonly RuleRef[]): string {
  if (refs.length === 0) return '-';
  const first = refs[0]!;
  const more = refs.length > 1 ? ` +${refs.length - 1}` : '';
  return `${first.namespace ? `${first.namespace}/` : ''}${first.name} (${first.file}:${first.line})${more}`;
}

/** The header line. */
export function tableHeader(): string {
  return `${COLUMNS.map(([name, w]) => fit(name, w)).join(' ')} RULE\n`;
}

/** One row (with its trailing newline); names and rules quoted from the input have untrusted characters escaped. */
export function tableRow(flow: Flow, v: Verdict): string {
  const cells = [
    String(v.index),
    v.verdict,
    v.drop_reason ?? '-',
    v.dropped_at ?? '-',
    endpointName(flow.src) + (flow.isReply ? ' (reply)' : ''),
    endpointName(flow.dst),
    portName(flow) + (v.l7 ? ' L7' : ''),
  ];
  const rule = v.verdict === 'DROPPED' && v.denied_by.length > 0 ? ruleText(v.denied_by) : ruleText(v.allowed_by);
  // One test of the whole row: hostile names are rare, the row is built either way.
  return `${escapeUntrusted(`${cells.map((c, i) => fit(c, COLUMNS[i]![1])).join(' ')} ${rule}`)}\n`;
}
