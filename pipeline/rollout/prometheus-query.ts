/**
 * Metric gates measured against Prometheus: one instant query (`GET /api/v1/query`) per due gate, its single sample
 * compared with the gate's condition. What can go wrong is classified the way Argo Rollouts classifies it: a value
 * that meets the condition is successful, one that does not is failed, no sample is inconclusive, and anything that
 * keeps us from knowing (unreachable, timeout, a query error, an answer that is not one number) is an error, which
 * only `consecutiveErrorLimit` in a row turns into an abort. Answers are bounded in size and time.
 */
import { escapeUntrusted } from '../core/text/index.js';
import { classifyValue } from './assess-metric.js';
import type { Measurement, MeasurementDue, MetricGateSpec } from './types.js';

/** How to reach Prometheus. */
export interface PrometheusOptions {
  /** Base URL, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  readonly url: string;
  /** Per query, ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest answer read, bytes (default 1 MiB). */
  readonly maxBytes?: number;
  /** The fetch to use (tests and proxies); default the global fetch. */
  readonly fetch?: typeof fetch;
}

/** A query's single value, or no sample; throws {@link PrometheusQueryError} when the answer cannot be used. */
export type QueryValue = number | undefined;

/** Why a query gave no usable answer; becomes an `error` measurement. */
export class PrometheusQueryError extends Error {}

/**
 * Runs one instant query.
 * @returns the value of the one sample (a scalar, or a vector of exactly one series); undefined for an empty vector.
 * @throws PrometheusQueryError for an unreachable server, a timeout, a non-success answer, or a result that is not
 *   one number (several series, a matrix, a string).
 */
export async function queryInstant(query: string, options: PrometheusOptions, now: number): Promise<QueryValue> {
  const base = new URL(options.url);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/query`, base);
  url.searchParams.set('query', query);
  url.searchParams.set('time', (now / 1000).toFixed(3));
  const timeoutMs = options.timeoutMs ?? 10_000;
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((e.cause as Error | undefined)?.message ?? e.message);
    throw new PrometheusQueryError(`Prometheus at ${base.origin} unreachable: ${why}`);
  }
  const text = await readBounded(res, options.maxBytes ?? 1 << 20);
  let body: { status?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new PrometheusQueryError(`Prometheus answered HTTP ${res.status} with something that is not JSON`);
  }
  if (body.status !== 'success') {
    throw new PrometheusQueryError(`Prometheus refused the query (HTTP ${res.status}): ${typeof body.error === 'string' ? body.error : 'no reason given'}`);
  }
  const { resultType, result } = body.data ?? {};
  if (resultType === 'scalar') return sampleValue(result);
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new PrometheusQueryError(`the query returned a ${String(resultType)}, not an instant vector or scalar`);
  }
  if (result.length === 0) return undefined;
  if (result.length > 1) throw new PrometheusQueryError(`the query returned ${result.length} series; aggregate it to one (e.g. sum(...))`);
  return sampleValue((result[0] as { value?: unknown }).value);
}

/**
 * Measures one due gate: runs its query and classifies the answer.
 * @returns the measurement (never throws: every failure is an `error` measurement with its reason).
 */
export async function measureGate(due: MeasurementDue, gate: MetricGateSpec, options: PrometheusOptions, now: number): Promise<Measurement> {
  const base = { gate: due.gate, wave: due.wave, at: now };
  try {
    const value = await queryInstant(due.query, options, now);
    const outcome = classifyValue(gate.successCondition, value);
    return value === undefined ? { ...base, outcome, message: 'no sample' } : { ...base, outcome, value };
  } catch (err) {
    const message = err instanceof PrometheusQueryError ? err.message : `query failed: ${(err as Error).message}`;
    return { ...base, outcome: 'error', message: escapeUntrusted(message) };
  }
}

function sampleValue(sample: unknown): number {
  // A sample is [unixSeconds, "value"]; Prometheus writes values as strings ("NaN", "+Inf" included).
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== 'string') {
    throw new PrometheusQueryError('the answer holds no [time, value] sample');
  }
  const v = sample[1];
  const n = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
  if (v.trim() === '' || (Number.isNaN(n) && v !== 'NaN')) throw new PrometheusQueryError(`the sample value '${escapeUntrusted(v.slice(0, 40))}' is not a number`);
  return n;
}

async function readBounded(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new PrometheusQueryError(`reading the answer failed: ${(err as Error).message}`);
    }
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PrometheusQueryError(`the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
