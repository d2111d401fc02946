/**
 * `palisade simulate --policies DIR --flows FILE… [--inventory FILE…] [--format jsonl|table|summary]
 * [--engine reference|tables|kernel] [--skip-invalid] [--max-decompressed SIZE]`: judges recorded Hubble flows under
 * a policy set.
 * Exit status: 0 when every flow was judged; 1 when the policies have errors (printed like `validate`), a flow line
 * is malformed or a gzip input decompresses past its bound (the verdicts judged until then are printed first); 2 for
 * usage or I/O problems.
 */
import { UsageError } from '../../core/errors.js';
import { parseByteSize } from '../byte-size.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, guardedStdout } from '../output.js';
import { loadPolicyModel } from '../../core/policy/index.js';
import type { PolicyFile } from '../../core/load/policy-file.js';
import { countDiagnostics, formatDiagnostic, sortDiagnostics, type Diagnostic } from '../../core/validate/diagnostic.js';
import { readPolicyFiles } from '../../sources/index.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, FlowReader, readInventory, type FlowReadStats, type Inventory } from '../../flows/index.js';
import { formatBytes } from '../../core/load/index.js';
import { createVerdictEngine, ENGINE_NAMES, REPORT_FORMATS, runSimulation, TextSink, type EngineOptions, type ReportFormat } from '../../simulate/index.js';
import type { Flow } from '../../core/flow/types.js';

const HELP = `usage: palisade simulate --policies DIR --flows FILE... [options]

Judges recorded Hubble flows (hubble observe -o json; files, .gz, or - for stdin) under a policy set.

  --policies PATH       policy file or directory (repeatable)
  --flows FILE...       recorded flows, in order (- reads stdin)
  --inventory FILE...   kubectl get pods,namespaces,services,nodes -A -o json|yaml output (optional)
  --format F            jsonl (one verdict per flow, the stable contract) | table | summary (default)
  --engine E            reference (default) | tables | kernel
  --skip-invalid        count and skip malformed flow lines instead of stopping at the first
  --max-decompressed SIZE
                        most bytes one gzip input may decompress to (default ${formatBytes(DEFAULT_MAX_DECOMPRESSED_BYTES)});
                        past it the run stops with flows-decompressed-too-large (gzip bombs)

Blank lines are skipped. On an error, the verdicts judged before it are printed first.
Exit status: 0 judged, 1 policy errors, a malformed flow line or a gzip input past its bound, 2 usage or I/O problem.
`;

interface Args {
  readonly policies: string[];
  readonly flows: string[];
  readonly inventory: string[];
  readonly format: ReportFormat;
  readonly engine: string;
  readonly skipInvalid: boolean;
  readonly maxDecompressedBytes: number;
}

/** Parses argv (the shared parser: list options take every following argument up to the next option). */
function parseArgs(argv: string[]): Args | 'help' {
  const parsed = parseCommandArgs(
    argv,
    {
      policies: { type: 'string', multiple: true, default: [] },
      flows: { type: 'string', multiple: true, default: [] },
      inventory: { type: 'string', multiple: true, default: [] },
      format: { type: 'string', default: 'summary' },
      engine: { type: 'string', default: 'reference' },
      'skip-invalid': { type: 'boolean', default: false },
      'max-decompressed': { type: 'string' },
    },
    HELP.trimEnd(),
  );
  if (!parsed) return 'help';
  const { values } = parsed;
  if (!(REPORT_FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`unknown format '${values.format}': use ${REPORT_FORMATS.join(', ')}`);
  if (!(ENGINE_NAMES as readonly string[]).includes(values.engine)) throw new UsageError(`unknown engine '${values.engine}': use ${ENGINE_NAMES.join(', ')}`);
  if (values.policies.length === 0) throw new UsageError('simulate needs --policies DIR');
  if (values.flows.length === 0) throw new UsageError('simulate needs --flows FILE...');
  if (values.flows.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  return {
    policies: values.policies,
    flows: values.flows,
    inventory: values.inventory,
    format: values.format as ReportFormat,
    engine: values.engine,
    skipInvalid: values['skip-invalid'],
    maxDecompressedBytes: values['max-decompressed'] === undefined ? DEFAULT_MAX_DECOMPRESSED_BYTES : parseByteSize(values['max-decompressed'], '--max-decompressed'),
  };
}

async function readPolicies(paths: readonly string[]): Promise<{ files: PolicyFile[]; diagnostics: Diagnostic[] }> {
  const files: PolicyFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const read = await readPolicyFiles(p);
    diagnostics.push(...read.diagnostics);
    for (const f of read.files) {
      if (seen.has(f.path)) continue;
      seen.add(f.path);
      files.push(f);
    }
  }
  return { files, diagnostics };
}

function readerNotes(stats: FlowReadStats, inventory: Inventory | undefined): string[] {
  const notes = [`input: ${stats.files} file${stats.files === 1 ? '' : 's'}, ${stats.lines} lines, ${stats.flows} flows`];
  const skipped: string[] = [];
  if (stats.notFlows > 0) skipped.push(`${stats.notFlows} non-flow events`);
  if (stats.unjudgeable > 0) skipped.push(`${stats.unjudgeable} flows without IP/L4 headers`);
  if (stats.invalid > 0) skipped.push(`${stats.invalid} malformed lines`);
  if (skipped.length > 0) notes.push(`skipped: ${skipped.join(', ')}`);
  for (const s of stats.invalidSamples) notes.push(`  ${s}`);
  if (inventory) {
    const c = inventory.counts;
    notes.push(`inventory: ${c.pods} pods, ${c.namespaces} namespaces, ${c.services} services${c.nodes > 0 ? `, ${c.nodes} nodes` : ''}`);
  }
  return notes;
}

/** Runs the command; resolves to the exit status. Errors propagate to the dispatcher, which prints them. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  // The shared parser has printed the usage.
  if (args === 'help') return 0;
  const read = await readPolicies(args.policies);
  const loaded = loadPolicyModel(read.files);
  const diagnostics = sortDiagnostics([...read.diagnostics, ...loaded.diagnostics]);
  const { errors } = countDiagnostics(diagnostics);
  if (errors > 0) {
    // Same lines as `validate`, on stderr so stdout stays a clean report stream.
    for (const d of diagnostics) errorLine(formatDiagnostic(d));
    errorLine(`palisade: ${errors} policy error${errors === 1 ? '' : 's'}; nothing simulated`);
    return read.diagnostics.some((d) => d.severity === 'error' && d.code.startsWith('io-')) ? 2 : 1;
  }
  const inventory = args.inventory.length > 0 ? await readInventory(args.inventory) : undefined;
  const readerOptions = { ...(inventory ? { inventory } : {}), skipInvalid: args.skipInvalid, maxDecompressedBytes: args.maxDecompressedBytes };
  const reader = new FlowReader(args.flows, readerOptions);
  const canReread = !args.flows.includes('-');
  const engineOptions: EngineOptions = {
    ...(inventory ? { services: inventory.services } : {}),
    ...(canReread ? { flowsForDns: (): AsyncIterable<Flow> => new FlowReader(args.flows, { ...readerOptions, skipInvalid: true }).flows() } : {}),
  };
  const engine = await createVerdictEngine(args.engine, loaded.model, engineOptions);
  // A reader that closes the pipe early (`| head`) or a full disk stops the run; main() reports it (exit 74).
  try {
    const sink = new TextSink(guardedStdout());
    await runSimulation(engine, reader, args.format, sink, () => readerNotes(reader.stats, inventory));
  } finally {
    await engine.close?.();
  }
  if (args.format !== 'summary' && (reader.stats.invalid > 0 || reader.stats.notFlows > 0 || reader.stats.unjudgeable > 0)) {
    errorLine(`palisade: ${readerNotes(reader.stats, inventory).join('; ')}`);
  }
  return 0;
}
