/**
 * `palisade check --base REF --head REF [--repo DIR] [--label NAME…] [--flows FILE…] [--inventory FILE…]
 * [--format text|markdown|json|github]`: what the pull-request check will say, locally: the same `onPullRequest`
 * the Action and the webhook run (gate from palisade.yaml at the base, flows from palisade.yaml read at the base
 * unless --flows names files on disk).
 *
 * Exit codes: 0 success or neutral, 1 the check fails, 2 usage or input that cannot be read.
 */
import { InputError, UsageError } from '../../core/errors.js';
import { onPullRequest, type PullRequestOutcome } from '../../handlers/index.js';
import { resultWorkflowCommands } from '../../github/index.js';
import { parseCommandArgs } from '../command-args.js';
import { reportError } from '../main.js';
import { printText } from '../output.js';

const USAGE =
  'usage: palisade check --base REF --head REF [--repo DIR] [--label NAME…] [--flows FILE…] [--inventory FILE…]\n' +
  '                      [--format text|markdown|json|github]';
const FORMATS = ['text', 'markdown', 'json', 'github'] as const;

/** Runs `palisade check`. @returns 0 pass, 1 the check fails, 2 usage and I/O errors. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      base: { type: 'string' },
      head: { type: 'string' },
      repo: { type: 'string', default: '.' },
      label: { type: 'string', multiple: true, default: [] },
      flows: { type: 'string', multiple: true, default: [] },
      inventory: { type: 'string', multiple: true, default: [] },
      format: { type: 'string', default: 'text' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.base || !values.head) throw new UsageError(`--base and --head are required`, USAGE);
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
  let outcome: PullRequestOutcome;
  try {
    outcome = await onPullRequest({
      repo: values.repo,
      base: values.base,
      head: values.head,
      labels: values.label,
      ...(values.flows.length > 0 ? { flows: values.flows, inventory: values.inventory } : {}),
    });
  } catch (err) {
    if (err instanceof InputError) {
      reportError(err);
      return 2;
    }
    throw err;
  }
  await printText(render(outcome, format));
  return outcome.conclusion === 'failure' ? 1 : 0;
}

function render(o: PullRequestOutcome, format: (typeof FORMATS)[number]): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(o, null, 2)}\n`;
    case 'markdown':
      return o.comment.endsWith('\n') ? o.comment : `${o.comment}\n`;
    case 'github':
      return resultWorkflowCommands(o);
    case 'text': {
      const lines = [`${o.conclusion}: ${o.title}`];
      for (const a of o.annotations) lines.push(`${a.path}:${a.line}: ${a.level}: ${a.title}`, ...a.message.split('\n').map((l) => `  ${l}`));
      return `${lines.join('\n')}\n`;
    }
  }
}
