/**
 * `palisade diff --base REF --head REF [--repo DIR] [--policies SUBDIR] --flows FILE… [--inventory FILE…]
 * [--format markdown|json|github] [--skip-invalid]` — the pull-request impact diff. Both policy trees are read
 * from Git objects (no checkout), the recorded flows are streamed once and judged under both, and the flows whose
 * verdict changes are reported on stdout.
 *
 * Exit codes: 0 when the diff ran (changes or not), 1 when the head policies have errors (their diagnostics are
 * printed), 2 for usage errors and input that cannot be read (repository, ref, directory, flow or inventory files).
 */
import { InputError, UsageError } from '../../core/errors.js';
import { formatDiagnostic, type Diagnostic } from '../../core/validate/diagnostic.js';
import { diffGitRefs, plural, renderJson, renderMarkdown, type DiffReport } from '../../diff/index.js';
import { renderGithub } from '../../github/index.js';
import { reportError } from '../main.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printText } from '../output.js';

const USAGE =
  'usage: palisade diff --base REF --head REF [--repo DIR] [--policies SUBDIR] --flows FILE… [--inventory FILE…]\n' +
  '                     [--format markdown|json|github] [--skip-invalid]';

const FORMATS = ['markdown', 'json', 'github'] as const;
type Format = (typeof FORMATS)[number];

interface DiffArgs {
  readonly base: string;
  readonly head: string;
  readonly repo: string;
  readonly policies: string;
  readonly flows: readonly string[];
  readonly inventory: readonly string[];
  readonly format: Format;
  readonly skipInvalid: boolean;
}

/** Runs `palisade diff`. @returns 0 when it ran, 1 when the head policies have errors, 2 for usage and I/O errors. */
export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'help') return 0; // usage already printed
  try {
    return await diff(args);
  } catch (err) {
    // Repository, ref, directory, flow and inventory problems are input that cannot be read: exit 2.
    if (err instanceof InputError) {
      reportError(err);
      return 2;
    }
    throw err;
  }
}

function parse(argv: string[]): DiffArgs | 'help' {
  const parsed = parseCommandArgs(
    argv,
    {
      base: { type: 'string' },
      head: { type: 'string' },
      repo: { type: 'string', default: '.' },
      policies: { type: 'string', default: 'policies' },
      flows: { type: 'string', multiple: true, default: [] },
      inventory: { type: 'string', multiple: true, default: [] },
      format: { type: 'string', default: 'markdown' },
      'skip-invalid': { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (!parsed) return 'help';
  const { values } = parsed;
  const lists = { flows: values.flows, inventory: values.inventory };
  if (!values.base || !values.head) throw new UsageError(`--base and --head are required`, USAGE);
  if (lists.flows.length === 0) throw new UsageError(`--flows is required`, USAGE);
  if (!(FORMATS as readonly string[]).includes(values.format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
  }
  return {
    base: values.base,
    head: values.head,
    repo: values.repo,
    policies: values.policies,
    flows: lists.flows,
    inventory: lists.inventory,
    format: values.format as Format,
    skipInvalid: values['skip-invalid'],
  };
}

async function diff(args: DiffArgs): Promise<number> {
  const result = await diffGitRefs({
    repo: args.repo,
    base: args.base,
    head: args.head,
    policies: args.policies,
    flows: args.flows,
    inventory: args.inventory,
    skipInvalid: args.skipInvalid,
  });
  if (result.kind === 'head-invalid') {
    writeDiagnostics(result.diagnostics);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    errorLine(`palisade diff: the head policies (${args.head}) have ${plural(errors, 'error')}`);
    return 1;
  }
  if (result.baseErrors.length > 0) {
    errorLine(
      `palisade diff: warning: the base policies (${args.base}) have ${plural(result.baseErrors.length, 'error')}; ` +
        'their invalid policies are left out of the comparison',
    );
  }
  for (const sample of result.skippedSamples) errorLine(`palisade diff: skipped ${sample}`);
  await printText(render(result.report, args.format));
  return 0;
}

function render(report: DiffReport, format: Format): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'github':
      return renderGithub(report);
    case 'markdown':
      return renderMarkdown(report);
  }
}

/** `file:line:col: error: message [code]`, the format `palisade validate` prints. */
function writeDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) errorLine(formatDiagnostic(d));
}
