/**
 * Runs one flow stream through two verdict engines at once. The source is read exactly once; each flow is handed
 * to both engines and kept only until both have judged it, so memory is bounded by how far an engine reads ahead
 * (`maxLookahead`), not by the length of the recording.
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import type { VerdictEngine } from '../simulate/engine.js';
import type { FlowSource } from '../simulate/index.js';
import { DiffError } from './errors.js';

/** What the diff needs of an engine: the streaming `judge` of a VerdictEngine, and its synchronous path if any. */
export type JudgingEngine = Pick<VerdictEngine, 'judge' | 'startRun'>;

/** One flow with its verdict under each policy set. */
export interface JudgedPair {
  readonly flow: Flow;
  readonly base: Verdict;
  readonly head: Verdict;
}

/** A FIFO of flows with O(1) removal at the front (Array#shift is linear on long queues). */
class FlowQueue {
  private items: (Flow | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(flow: Flow): void {
    this.items.push(flow);
  }

  /** The oldest flow, or undefined when empty. */
  shift(): Flow | undefined {
    if (this.head >= this.items.length) return undefined;
    const flow = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed prefix now and then so the array does not grow with the recording.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return flow;
  }
}

/** Default bound on flows read but not yet judged by both engines. */
export const DEFAULT_MAX_LOOKAHEAD = 65_536;

/**
 * Calls `visit` for every flow with its base and head verdicts, in input order. When both engines have a
 * synchronous path (`startRun`) and the source hands out batches, each batch is judged without a promise per flow;
 * otherwise the flows stream through {@link judgeUnderBoth}.
 * @throws as {@link judgeUnderBoth}.
 */
export async function forEachJudgedPair(
  flows: FlowSource,
  base: JudgingEngine,
  head: JudgingEngine,
  visit: (pair: JudgedPair) => void,
  maxLookahead?: number,
): Promise<void> {
  const judgeBase = base.startRun?.();
  const judgeHead = head.startRun?.();
  if (judgeBase && judgeHead && isBatched(flows)) {
    for await (const batch of flows.batches()) {
      for (const flow of batch) {
        const b = judgeBase(flow);
        const h = judgeHead(flow);
        if (b.index !== flow.index || h.index !== flow.index) {
          throw new DiffError(
            'diff-engine-mismatch',
            `flow ${flow.index} got base verdict ${b.index} and head verdict ${h.index}`,
          );
        }
        visit({ flow, base: b, head: h });
      }
    }
    return;
  }
  const stream = isBatched(flows) ? flows.flows() : flows;
  for await (const pair of judgeUnderBoth(stream, base, head, maxLookahead)) visit(pair);
}

function isBatched(flows: FlowSource): flows is Extract<FlowSource, { batches(): unknown }> {
  return typeof (flows as { batches?: unknown }).batches === 'function';
}

/**
 * Yields every flow of `flows` with its base and head verdicts, in input order.
 * @throws DiffError `diff-engine-mismatch` when an engine returns a different number of verdicts than flows, or a
 *   verdict out of order; `diff-engine-lookahead` when an engine reads more than `maxLookahead` flows ahead of its
 *   verdicts. Errors of the flow source (a malformed line) propagate unchanged.
 */
export async function* judgeUnderBoth(
  flows: AsyncIterable<Flow>,
  base: JudgingEngine,
  head: JudgingEngine,
  maxLookahead: number = DEFAULT_MAX_LOOKAHEAD,
): AsyncGenerator<JudgedPair> {
  const source = flows[Symbol.asyncIterator]();
  const queues: [FlowQueue, FlowQueue] = [new FlowQueue(), new FlowQueue()];
  const pending = new FlowQueue();
  let sourceDone = false;
  let pulling: Promise<void> | null = null;

  // One read of the source feeds both engines and the pending list; concurrent callers share the read in flight.
  const accept = (r: IteratorResult<Flow>): void => {
    pulling = null;
    if (r.done) {
      sourceDone = true;
      return;
    }
    if (pending.length >= maxLookahead) {
      throw new DiffError(
        'diff-engine-lookahead',
        `a verdict engine read more than ${maxLookahead} flows ahead without returning their verdicts`,
      );
    }
    queues[0].push(r.value);
    queues[1].push(r.value);
    pending.push(r.value);
  };
  const fail = (err: unknown): never => {
    pulling = null;
    throw err;
  };
  const pull = (): Promise<void> => (pulling ??= source.next().then(accept, fail));

  // A plain iterator rather than an async generator: this runs once per flow per engine, so it stays lean.
  const branch = (queue: FlowQueue): AsyncIterableIterator<Flow> => {
    const it: AsyncIterableIterator<Flow> = {
      async next(): Promise<IteratorResult<Flow>> {
        while (queue.length === 0 && !sourceDone) await pull();
        const value = queue.shift();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  };

  const baseIt = base.judge(branch(queues[0]))[Symbol.asyncIterator]();
  const headIt = head.judge(branch(queues[1]))[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Base first, then head: the second usually finds its flow already queued by the first.
      const b = await baseIt.next();
      const h = await headIt.next();
      if (b.done && h.done) break;
      const flow = pending.shift();
      if (b.done || h.done || flow === undefined) {
        throw new DiffError(
          'diff-engine-mismatch',
          `the ${b.done ? 'base' : 'head'} engine ended early: verdicts and flows no longer line up` +
            (flow ? ` (at flow ${flow.index})` : ''),
        );
      }
      if (b.value.index !== flow.index || h.value.index !== flow.index) {
        throw new DiffError(
          'diff-engine-mismatch',
          `verdicts out of order: flow ${flow.index} got base verdict ${b.value.index} and head verdict ${h.value.index}`,
        );
      }
      yield { flow, base: b.value, head: h.value };
    }
    if (pending.length > 0) {
      throw new DiffError('diff-engine-mismatch', `${pending.length} flows got no verdict`);
    }
  } finally {
    // Close both engines (and through them the source) when the consumer stops early or something failed.
    await Promise.allSettled([baseIt.return?.(), headIt.return?.()]);
    await source.return?.();
  }
}
