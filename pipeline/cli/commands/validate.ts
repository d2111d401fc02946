/**
 * `palisade validate PATH… [--format text|json|github]`: checks policy files and directories and prints every
 * problem as `path:line:col: error|warning: message [code]`, then a one-line summary.
 * Exit status: 0 without errors, 1 with errors, 2 for usage or I/O problems.
 */
import { UsageError } from '../../core/errors.js';
import { loadPolicyModel, type PolicyLoadResult } from '../../core/policy/index.js';
import type { PolicyFile } from '../../core/load/policy-file.js';
import { countDiagnostics, formatDiagnostic, sortDiagnostics, type Diagnostic } from '../../core/validate/diagnostic.js';
import { readPolicyFiles } from '../../sources/index.js';
import { escapeUntrusted } from '../../core/text/index.js';
import { parseCommandArgs } from '../command-args.js';
import { printText } from '../output.js';
import { workflowCommand } from '../../github/workflow-commands.js';

const FORMATS = ['text', 'json', 'github'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `usage: palisade validate PATH... [--format text|json|github]

Checks CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy files (.yaml, .yml, .json;
directories are read recursively). Prints path:line:col: error|warning: message [code] and a summary.
Exit status: 0 no errors, 1 errors found, 2 usage or I/O problem.
`;

interface Args {
  readonly paths: string[];
  readonly format: Format;
}

function parseArgs(argv: string[]): Args | 'help' {
  const parsed = parseCommandArgs(argv, { format: { type: 'string', default: 'text' } }, HELP.trimEnd(), true);
  if (!parsed) return 'help';
  const format = parsed.values.format;
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format '${format}': use text, json or github`);
  if (parsed.positionals.length === 0) throw new UsageError('validate needs at least one PATH (a policy file or directory)');
  return { paths: parsed.positionals, format: format as Format };
}

function summaryLine(result: PolicyLoadResult, files: number, diagnostics: readonly Diagnostic[]): string {
  const { errors, warnings } = countDiagnostics(diagnostics);
  const skippedEntries = Object.entries(result.stats.skipped);
  const skippedTotal = skippedEntries.reduce((n, [, c]) => n + c, 0);
  const skipped = skippedTotal === 0 ? '' : `, ${skippedTotal} other object${skippedTotal === 1 ? '' : 's'} skipped (${skippedEntries.map(([k, c]) => `${k} ${c}`).join(', ')})`;
  const invalid = result.stats.invalid > 0 ? ` (+${result.stats.invalid} invalid)` : '';
  // Skipped kinds are quoted from the input.
  return escapeUntrusted(`${files} file${files === 1 ? '' : 's'}, ${result.stats.policies} polic${result.stats.policies === 1 ? 'y' : 'ies'} valid${invalid}${skipped}; ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
}

/** Runs the command; resolves to the exit status. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') return 0; // usage already printed
  const files: PolicyFile[] = [];
  const ioDiagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const p of args.paths) {
    const read = await readPolicyFiles(p);
    ioDiagnostics.push(...read.diagnostics);
    for (const f of read.files) {
      if (seen.has(f.path)) continue;
      seen.add(f.path);
      files.push(f);
    }
  }
  const result = loadPolicyModel(files);
  const diagnostics = sortDiagnostics([...ioDiagnostics, ...result.diagnostics]);
  const { errors, warnings } = countDiagnostics(diagnostics);
  const ioFailed = ioDiagnostics.some((d) => d.severity === 'error' && d.code.startsWith('io-'));
  const summary = summaryLine(result, files.length, diagnostics);

  let out = '';
  switch (args.format) {
    case 'json':
      out =
        JSON.stringify(
          {
            diagnostics,
            summary: { files: files.length, documents: result.stats.documents, policies: result.stats.policies, invalid: result.stats.invalid, skipped: result.stats.skipped, errors, warnings },
          },
          null,
          2,
        ) + '\n';
      break;
    case 'github':
      for (const d of diagnostics) {
        const at = d.pos.line > 0 ? { line: d.pos.line, col: d.pos.col } : {};
        out += `${workflowCommand(d.severity, { file: d.pos.file, ...at, title: d.code }, `${d.message} [${d.code}]`)}\n`;
      }
      out += `${summary}\n`;
      break;
    case 'text':
      for (const d of diagnostics) out += `${formatDiagnostic(d)}\n`;
      out += `${summary}\n`;
      break;
  }
  await printText(out);
  return ioFailed ? 2 : errors > 0 ? 1 : 0;
}
