/**
 * One simulation run: flows through an engine into a report. Streams end to end; only the summary keeps state, and
 * that is bounded.
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import { SimulateError } from './errors.js';
import type { VerdictEngine } from './engine.js';
import { judgeFlows } from './judge-stream.js';
import { writeVerdictJsonl } from './jsonl-report.js';
import { SummaryCollector } from './summary-report.js';
import { tableHeader, tableRow } from './table-report.js';
import type { TextSink } from './text-sink.js';

/** A flow source that can also hand out flows in batches (the flow reader does, one batch per input chunk). */
export interface BatchedFlowSource {
  batches(): AsyncIterable<readonly Flow[]>;
  flows(): AsyncIterable<Flow>;
}

/** Flows one by one, or a batched source. */
export type FlowSource = AsyncIterable<Flow> | BatchedFlowSource;

function isBatchSource(source: FlowSource): source is BatchedFlowSource {
  return typeof (source as BatchedFlowSource).batches === 'function';
}

export type ReportFormat = 'jsonl' | 'table' | 'summary';

export const REPORT_FORMATS: readonly ReportFormat[] = ['jsonl', 'table', 'summary'];

/**
 * Judges every flow and writes the report. Engines with a synchronous fast path (`startRun`) judge batched sources
 * batch by batch; every other combination goes through `judge` one flow at a time. For `summary`, the text is written at the end with `notes()` appended
 * (reader counters are only final once the flows are consumed).
 * When the flow source or the engine fails part way, the verdicts judged until then are still written (and for
 * `summary`, the summary of those flows) before the error is thrown on: nothing judged is lost.
 * @returns the counts (for every format)
 * @throws errors of the flow source (malformed input) and of the engine, unchanged
 */
export async function runSimulation(
  engine: VerdictEngine,
  flows: FlowSource,
  format: ReportFormat,
  sink: TextSink,
  notes: () => readonly string[] = () => [],
): Promise<SummaryCollector> {
  const summary = new SummaryCollector();
  if (format === 'table') await sink.write(tableHeader());
  const report = (flow: Flow, verdict: Verdict): Promise<void> | undefined => {
    if (format === 'jsonl') {
      summary.total++;
      if (verdict.verdict === 'FORWARDED') summary.forwarded++;
      else summary.dropped++;
      return writeVerdictJsonl(sink, verdict);
    }
    summary.add(flow, verdict);
    return format === 'table' ? sink.write(tableRow(flow, verdict)) : undefined;
  };
  try {
    await judgeAll(engine, flows, report);
  } catch (err) {
    // Everything judged before the error reaches the output first, then the error goes to the caller to report.
    await writeJudgedBeforeError(sink, format, summary, notes);
    throw err;
  }
  if (format === 'summary') await sink.write(summary.render(notes()));
  await sink.end();
  return summary;
}

/** Judges every flow of `flows`, handing each verdict to `report` (awaited when it returns a promise). */
async function judgeAll(engine: VerdictEngine, flows: FlowSource, report: (flow: Flow, verdict: Verdict) => Promise<void> | undefined): Promise<void> {
  const judgeOne = engine.startRun?.();
  if (judgeOne !== undefined && isBatchSource(flows)) {
    // Fast path: one await per batch of flows instead of several per flow.
    for await (const batch of flows.batches()) {
      for (const flow of batch) {
        const verdict = judgeOne(flow);
        if (verdict.index !== flow.index) throw new SimulateError('simulate-engine-mismatch', `the ${engine.name} engine answered flow ${flow.index} with verdict ${verdict.index}`);
        const pending = report(flow, verdict);
        if (pending) await pending;
      }
    }
    return;
  }
  const stream = isBatchSource(flows) ? flows.flows() : flows;
  for await (const { flow, verdict } of judgeFlows(engine, stream)) {
    const pending = report(flow, verdict);
    if (pending) await pending;
  }
}

/**
 * Writes out what a failed run judged: the buffered verdicts, and for `summary` the summary of the judged flows.
 * Skipped when the destination itself failed; a failure while writing is dropped (the run's error is the one to
 * report).
 */
async function writeJudgedBeforeError(sink: TextSink, format: ReportFormat, summary: SummaryCollector, notes: () => readonly string[]): Promise<void> {
  if (sink.broken) return;
  try {
    if (format === 'summary') await sink.write(summary.render(notes()));
    await sink.end();
  } catch {
    // The destination went away while flushing: nothing more can be delivered.
  }
}
