/**
 * Metric gates judged as Argo Rollouts judges an analysis metric: more failed measurements than `failureLimit`
 * fails the gate, more inconclusive ones than `inconclusiveLimit` makes it inconclusive, more errors in a row than
 * `consecutiveErrorLimit` is an error (which aborts like a failure), and `count` measurements within those limits
 * pass it. Unlike Argo, an errored measurement does not count toward `count`: a query that never works can only end
 * in `error`, never in success.
 */
import type { Measurement, MeasurementOutcome, MetricCondition, MetricGateSpec } from './types.js';

/** Where a metric gate stands in the current wave. */
export type MetricVerdict = 'pending' | 'running' | 'successful' | 'failed' | 'inconclusive' | 'error';

/** The verdict of one gate from its measurements in the current wave (oldest first). */
export function assessMetric(gate: MetricGateSpec, measurements: readonly Measurement[]): MetricVerdict {
  if (measurements.length === 0) return 'pending';
  let failed = 0;
  let inconclusive = 0;
  let taken = 0;
  let errorsInARow = 0;
  for (const m of measurements) {
    if (m.outcome === 'error') {
      errorsInARow++;
      continue;
    }
    errorsInARow = 0;
    taken++;
    if (m.outcome === 'failed') failed++;
    else if (m.outcome === 'inconclusive') inconclusive++;
  }
  if (failed > gate.failureLimit) return 'failed';
  if (inconclusive > gate.inconclusiveLimit) return 'inconclusive';
  if (errorsInARow > gate.consecutiveErrorLimit) return 'error';
  if (taken >= gate.count) return 'successful';
  return 'running';
}

const SEVERITY: Record<MetricVerdict, number> = { successful: 0, pending: 1, running: 1, inconclusive: 2, error: 3, failed: 4 };

/** The worst of several verdicts (failed > error > inconclusive > running/pending > successful); successful for none. */
export function worstVerdict(verdicts: Iterable<MetricVerdict>): MetricVerdict {
  let worst: MetricVerdict = 'successful';
  for (const v of verdicts) if (SEVERITY[v] > SEVERITY[worst]) worst = v;
  return worst;
}

/**
 * Classifies what a query returned: a number that meets the condition is successful, one that does not is failed,
 * no sample (an empty vector) is inconclusive. A NaN or infinite value is inconclusive: it proves nothing either way.
 */
export function classifyValue(condition: MetricCondition, value: number | undefined): MeasurementOutcome {
  if (value === undefined || !Number.isFinite(value)) return 'inconclusive';
  return conditionHolds(condition, value) ? 'successful' : 'failed';
}

function conditionHolds({ op, threshold }: MetricCondition, value: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** True when the gate wants a new measurement at `now`: not yet judged, and its interval since the last one has passed. */
export function measurementDue(gate: MetricGateSpec, measurements: readonly Measurement[], now: number): boolean {
  const verdict = assessMetric(gate, measurements);
  if (verdict !== 'pending' && verdict !== 'running') return false;
  const last = measurements.at(-1);
  return last === undefined || now - last.at >= gate.intervalMs;
}
