/**
 * What a pull-request result looks like inside a GitHub Actions step: workflow-command annotations on stdout (error
 * for failing changes, warning, notice), and the job summary appended to $GITHUB_STEP_SUMMARY within GitHub's 1 MiB.
 */
import { appendFile, stat } from 'node:fs/promises';
import type { CheckAnnotation, PullRequestResult } from '../handlers/index.js';
import { truncateUtf8, JOB_SUMMARY_LIMIT } from './utf8-limit.js';
import { workflowCommand, type WorkflowCommandName } from './workflow-commands.js';

const COMMAND: Readonly<Record<CheckAnnotation['level'], WorkflowCommandName>> = { failure: 'error', warning: 'warning', notice: 'notice' };

/** One workflow command per annotation, then a notice with the title. @returns text ending in a newline. */
export function resultWorkflowCommands(result: Pick<PullRequestResult, 'title' | 'annotations' | 'conclusion'>): string {
  const lines = result.annotations.map((a) => workflowCommand(COMMAND[a.level], { file: a.path, line: a.line, title: a.title }, a.message));
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
