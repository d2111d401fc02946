/**
 * One simulation run: flows through an engine into a report. Streams end to end; only the summary keeps state, and
 * that is bounded.
 */
import type { Flow } from '../core/flow/types.js';
import type { VerdictEngine } from './engine.js';
import { judgeFlows } from './judge-stream.js';
import { verdictJsonLine } from './jsonl-report.js';
import { SummaryCollector } from './summary-report.js';
import { tableHeader, tableRow } from './table-report.js';
import type { TextSink } from './text-sink.js';

export type ReportFormat = 'jsonl' | 'table' | 'summary';

export const REPORT_FORMATS: readonly ReportFormat[] = ['jsonl', 'table', 'summary'];

/**
 * Judges every flow and writes the report. For `summary`, the text is written at the end with `notes()` appended
 * (reader counters are only final once the flows are consumed).
 * @returns the counts (for every format)
 * @throws errors of the flow source (malformed input) and of the engine, unchanged
 */
export async function runSimulation(
  engine: VerdictEngine,
  flows: AsyncIterable<Flow>,
  format: ReportFormat,
  sink: TextSink,
  notes: () => readonly string[] = () => [],
): Promise<SummaryCollector> {
  const summary = new SummaryCollector();
  if (format === 'table') await sink.write(tableHeader());
  for await (const { flow, verdict } of judgeFlows(engine, flows)) {
    let pending: Promise<void> | undefined;
    if (format === 'jsonl') {
      summary.total++;
      if (verdict.verdict === 'FORWARDED') summary.forwarded++;
      else summary.dropped++;
      pending = sink.write(verdictJsonLine(verdict));
    } else {
      summary.add(flow, verdict);
      if (format === 'table') pending = sink.write(tableRow(flow, verdict));
    }
    if (pending) await pending;
  }
  if (format === 'summary') await sink.write(summary.render(notes()));
  await sink.end();
  return summary;
}
