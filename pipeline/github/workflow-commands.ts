/**
 * GitHub Actions workflow commands (`::warning file=…,line=…::message`): the one place their escaping is written.
 * A message (data) keeps its line breaks as `%0D`/`%0A` (annotations may span lines) and `%` as `%25`; a property
 * value (a file name, a title) shows line breaks visibly and also escapes `:` and `,`, which would otherwise end it.
 * Either way, other control, separator and bidi characters become visible escapes (escapeUntrusted), so untrusted
 * text cannot forge a command or reorder what a reader sees.
 */
import { escapeUntrusted } from '../core/text/index.js';

/** Annotation levels a workflow command can carry. */
export type WorkflowCommandName = 'error' | 'warning' | 'notice';

/** Escapes a command's message. */
export function escapeCommandData(s: string): string {
  return escapeUntrusted(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/** Escapes a command's property value. */
export function escapeCommandProperty(s: string): string {
  return escapeUntrusted(s).replace(/%/g, '%25').replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * `::name key=value,...::message` with every property and the message escaped; properties whose value is
 * undefined are left out.
 * @returns one line without a trailing newline.
 */
export function workflowCommand(name: WorkflowCommandName, props: Readonly<Record<string, string | number | undefined>>, message: string): string {
  const p = Object.entries(props)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${escapeCommandProperty(String(v))}`)
    .join(',');
  return `::${name}${p ? ` ${p}` : ''}::${escapeCommandData(message)}`;
}
