/**
 * What a pull-request result looks like inside a GitHub Actions step: workflow-command annotations on stdout (error
 * for failing changes, warning, notice), and the job summary appended to $GITHUB_STEP_SUMMARY within GitHub's 1 MiB.
 */
import { appendFile, stat } from 'node:fs/promises';
import type { CheckAnnotation, PullRequestResult } from '../handlers/index.js';
import { truncateUtf8, JOB_SUMMARY_LIMIT } from './utf8-limit.js';
import { workflowCommand, type WorkflowCommandName } from './workflow-commands.js';

const COMMAND: Readonly<Record<CheckAnnotation['level'], WorkflowCommandName>> = { failure: 'error', warning: 'warning', notice: 'notice' };
const SEVERITY: Readonly<Record<CheckAnnotation['level'], number>> = { failure: 0, warning: 1, notice: 2 };

/** GitHub shows at most 50 workflow-command annotations per job; more only fill the log. */
export const MAX_WORKFLOW_ANNOTATIONS = 50;

/**
 * One workflow command per annotation, the most severe first and at most {@link MAX_WORKFLOW_ANNOTATIONS} (a notice
 * counts the rest, which the check run carries), then the title. @returns text ending in a newline.
 */
export function resultWorkflowCommands(result: Pick<PullRequestResult, 'title' | 'annotations' | 'conclusion'>): string {
  const ordered = [...result.annotations].sort((a, b) => SEVERITY[a.level] - SEVERITY[b.level]);
  const lines = ordered.slice(0, MAX_WORKFLOW_ANNOTATIONS).map((a) => workflowCommand(COMMAND[a.level], { file: a.path, line: a.line, title: a.title }, a.message));
  const rest = ordered.length - MAX_WORKFLOW_ANNOTATIONS;
  if (rest > 0) lines.push(workflowCommand('notice', { title: 'Palisade' }, `${rest} more annotation${rest === 1 ? '' : 's'} not written here (GitHub shows ${MAX_WORKFLOW_ANNOTATIONS} per job); the check run carries them`));
  lines.push(workflowCommand(result.conclusion === 'failure' ? 'error' : 'notice', { title: 'Palisade' }, result.title));
  return `${lines.join('\n')}\n`;
}

/**
 * Appends `markdown` to the step summary file, cut so the file stays within 1 MiB.
 * @returns the bytes written.
 */
export async function appendJobSummary(file: string, markdown: string): Promise<number> {
  const used = (await stat(file).catch(() => undefined))?.size ?? 0;
  const room = JOB_SUMMARY_LIMIT - used;
  if (room < 256) return 0;
  const text = truncateUtf8(`${markdown}\n`, room);
  await appendFile(file, text);
  return Buffer.byteLength(text);
}
