/**
 * Pairs each flow with the verdict an engine gives it. The engine pulls flows through a tap that remembers them
 * until their verdict comes back, so memory is bounded by the engine's read-ahead, not by the recording.
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import type { VerdictEngine } from './engine.js';
import { SimulateError } from './errors.js';

/** A flow and its verdict. */
export interface JudgedFlow {
  readonly flow: Flow;
  readonly verdict: Verdict;
}

/** Most flows an engine may read ahead of its verdicts. */
export const MAX_READ_AHEAD = 65_536;

/**
 * Runs `flows` through `engine`. When the flow source fails (a malformed line), the engine sees the stream end
 * there, so that it still judges every flow it has read ahead; the source's error is thrown after the last of those
 * verdicts.
 * @throws SimulateError `simulate-engine-mismatch` when the engine skips, reorders or invents verdicts, or reads
 *   more than MAX_READ_AHEAD flows ahead; errors of the flow source propagate unchanged, after the verdicts of the
 *   flows before them
 */
export async function* judgeFlows(engine: VerdictEngine, flows: AsyncIterable<Flow>): AsyncGenerator<JudgedFlow> {
  const pending: Flow[] = [];
  let head = 0;
  let sourceFailed: { error: unknown } | undefined;
  async function* tap(): AsyncGenerator<Flow> {
    const it = flows[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Flow>;
      try {
        next = await it.next();
      } catch (error) {
        sourceFailed = { error };
        return;
      }
      if (next.done) return;
      if (pending.length - head >= MAX_READ_AHEAD) {
        throw new SimulateError('simulate-engine-mismatch', `the ${engine.name} engine read more than ${MAX_READ_AHEAD} flows ahead of its verdicts`);
      }
      pending.push(next.value);
      yield next.value;
    }
  }
  for await (const verdict of engine.judge(tap())) {
    const flow = pending[head];
    if (flow === undefined || verdict.index !== flow.index) {
      throw new SimulateError(
        'simulate-engine-mismatch',
        `the ${engine.name} engine returned a verdict for flow ${verdict.index} where flow ${flow?.index ?? '(none)'} was next`,
      );
    }
    pending[head] = undefined as unknown as Flow;
    head++;
    // Compact now and then so the queue does not grow with the recording.
    if (head > 4096 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    yield { flow, verdict };
  }
  if (head < pending.length) {
    throw new SimulateError('simulate-engine-mismatch', `the ${engine.name} engine stopped before judging flow ${pending[head]!.index}`);
  }
  if (sourceFailed) throw sourceFailed.error;
}
