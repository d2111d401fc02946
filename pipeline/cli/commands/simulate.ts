/**
 * `palisade simulate --policies DIR --flows FILE… [--inventory FILE…] [--format jsonl|table|summary]
 * [--engine reference|tables|kernel] [--skip-invalid]`: judges recorded Hubble flows under a policy set.
 * Exit status: 0 when every flow was judged; 1 when the policies have errors (printed like `validate`) or a flow line
 * is malformed; 2 for usage or I/O problems.
 */
import { UsageError } from '../../core/errors.js';
import { loadPolicyModel } from '../../core/policy/index.js';
import type { PolicyFile } from '../../core/load/policy-file.js';
import { countDiagnostics, sortDiagnostics, type Diagnostic } from '../../core/validate/diagnostic.js';
import { readPolicyFiles } from '../../sources/index.js';
import { FlowReader, readInventory, type FlowReadStats, type Inventory } from '../../flows/index.js';
import { createVerdictEngine, ENGINE_NAMES, REPORT_FORMATS, runSimulation, TextSink, type EngineOptions, type ReportFormat } from '../../simulate/index.js';
import type { Flow } from '../../core/flow/types.js';

const HELP = `usage: palisade simulate --policies DIR --flows FILE... [options]

Judges recorded Hubble flows (hubble observe -o json; files, .gz, or - for stdin) under a policy set.

  --policies PATH       policy file or directory (repeatable)
  --flows FILE...       recorded flows, in order (- reads stdin)
  --inventory FILE...   kubectl get pods,namespaces,services -A -o json|yaml output (optional)
  --format F            jsonl (one verdict per flow, the stable contract) | table | summary (default)
  --engine E            reference (default) | tables | kernel
  --skip-invalid        count and skip malformed flow lines instead of stopping at the first

Exit status: 0 judged, 1 policy errors or a malformed flow line, 2 usage or I/O problem.
`;

interface Args {
  readonly policies: string[];
  readonly flows: string[];
  readonly inventory: string[];
  readonly format: ReportFormat;
  readonly engine: string;
  readonly skipInvalid: boolean;
}

/** Parses argv; list options take every following argument up to the next option. */
function parseArgs(argv: string[]): Args | 'help' {
  const lists: Record<'policies' | 'flows' | 'inventory', string[]> = { policies: [], flows: [], inventory: [] };
  let format: ReportFormat = 'summary';
  let engine = 'reference';
  let skipInvalid = false;
  const isOption = (a: string): boolean => a.startsWith('--') || (a.startsWith('-') && a !== '-');
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    if (raw === '-h' || raw === '--help') return 'help';
    const eq = raw.indexOf('=');
    const name = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const single = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && isOption(v))) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--policies':
      case '--flows':
      case '--inventory': {
        const list = lists[name.slice(2) as keyof typeof lists];
        if (inline !== undefined) list.push(inline);
        else {
          const before = list.length;
          while (i + 1 < argv.length && !isOption(argv[i + 1]!)) list.push(argv[++i]!);
          if (list.length === before) throw new UsageError(`${name} needs at least one path`);
        }
        break;
      }
      case '--format': {
        const v = single();
        if (!(REPORT_FORMATS as readonly string[]).includes(v)) throw new UsageError(`unknown format '${v}': use ${REPORT_FORMATS.join(', ')}`);
        format = v as ReportFormat;
        break;
      }
      case '--engine': {
        const v = single();
        if (!(ENGINE_NAMES as readonly string[]).includes(v)) throw new UsageError(`unknown engine '${v}': use ${ENGINE_NAMES.join(', ')}`);
        engine = v;
        break;
      }
      case '--skip-invalid':
        skipInvalid = true;
        break;
      default:
        throw new UsageError(`unexpected argument '${raw}' (see palisade simulate --help)`);
    }
  }
  if (lists.policies.length === 0) throw new UsageError('simulate needs --policies DIR');
  if (lists.flows.length === 0) throw new UsageError('simulate needs --flows FILE...');
  if (lists.flows.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  return { ...lists, format, engine, skipInvalid };
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
    notes.push(`inventory: ${c.pods} pods, ${c.namespaces} namespaces, ${c.services} services`);
  }
  return notes;
}

/** Runs the command; resolves to the exit status. Errors propagate to the dispatcher, which prints them. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const read = await readPolicies(args.policies);
  const loaded = loadPolicyModel(read.files);
  const diagnostics = sortDiagnostics([...read.diagnostics, ...loaded.diagnostics]);
  const { errors } = countDiagnostics(diagnostics);
  if (errors > 0) {
    // Same lines as `validate`, on stderr so stdout stays a clean report stream.
    for (const d of diagnostics) {
      const where = d.pos.line > 0 ? `${d.pos.file}:${d.pos.line}:${d.pos.col}` : d.pos.file;
      process.stderr.write(`${where}: ${d.severity}: ${d.message} [${d.code}]\n`);
    }
    process.stderr.write(`palisade: ${errors} policy error${errors === 1 ? '' : 's'}; nothing simulated\n`);
    return read.diagnostics.some((d) => d.severity === 'error' && d.code.startsWith('io-')) ? 2 : 1;
  }
  const inventory = args.inventory.length > 0 ? await readInventory(args.inventory) : undefined;
  const readerOptions = { ...(inventory ? { inventory } : {}), skipInvalid: args.skipInvalid };
  const reader = new FlowReader(args.flows, readerOptions);
  const canReread = !args.flows.includes('-');
  const engineOptions: EngineOptions = {
    ...(inventory ? { services: inventory.services } : {}),
    ...(canReread ? { flowsForDns: (): AsyncIterable<Flow> => new FlowReader(args.flows, { ...readerOptions, skipInvalid: true }).flows() } : {}),
  };
  const engine = await createVerdictEngine(args.engine, loaded.model, engineOptions);
  // A reader that closes the pipe early (`| head`) ends the run quietly.
  let closedEarly = false;
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') closedEarly = true;
  };
  process.stdout.on('error', onStdoutError);
  try {
    const sink = new TextSink(process.stdout);
    await runSimulation(engine, reader, args.format, sink, () => readerNotes(reader.stats, inventory));
  } catch (err) {
    if (closedEarly || (err as NodeJS.ErrnoException)?.code === 'EPIPE') return 0;
    throw err;
  } finally {
    process.stdout.off('error', onStdoutError);
    await engine.close?.();
  }
  if (args.format !== 'summary' && (reader.stats.invalid > 0 || reader.stats.notFlows > 0 || reader.stats.unjudgeable > 0)) {
    process.stderr.write(`palisade: ${readerNotes(reader.stats, inventory).join('; ')}\n`);
  }
  return 0;
}
