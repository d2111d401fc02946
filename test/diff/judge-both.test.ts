import { describe, expect, it } from 'vitest';
import type { Flow, Verdict } from '../../pipeline/core/flow/types.js';
import { DiffError, judgeUnderBoth, type JudgingEngine } from '../../pipeline/diff/index.js';
import { dropped, forwarded, pod, tcp } from './helpers.js';

const a = pod('shop', 'a-0', '10.0.0.1');
const b = pod('shop', 'b-0', '10.0.0.2');

/** A source that counts how often each flow is produced and how many are alive at once. */
function countingSource(n: number): { flows: AsyncIterable<Flow>; produced: () => number } {
  let produced = 0;
  return {
    produced: () => produced,
    flows: (async function* () {
      for (let i = 0; i < n; i++) {
        produced++;
        yield tcp(i, a, b, 1000 + (i % 7));
      }
    })(),
  };
}

/** Engines with a fixed rule (the diff stage only needs the streaming contract); `ahead` reads flows in batches. */
function engine(decide: (f: Flow) => Verdict, ahead = 1): JudgingEngine {
  return {
    async *judge(flows) {
      let batch: Flow[] = [];
      for await (const f of flows) {
        batch.push(f);
        if (batch.length >= ahead) {
          for (const g of batch) yield decide(g);
          batch = [];
        }
      }
      for (const g of batch) yield decide(g);
    },
  };
}
const allowAll = engine((f) => forwarded(f.index));
const blockOdd = engine((f) => (f.index % 2 ? dropped(f.index, 'egress') : forwarded(f.index)), 100);

describe('judgeUnderBoth', () => {
  it('reads the source once and pairs each flow with both verdicts, in order', async () => {
    const src = countingSource(1000);
    const seen: number[] = [];
    for await (const { flow, base, head } of judgeUnderBoth(src.flows, allowAll, blockOdd)) {
      expect(base.index).toBe(flow.index);
      expect(head.index).toBe(flow.index);
      expect(head.verdict).toBe(flow.index % 2 ? 'DROPPED' : 'FORWARDED');
      seen.push(flow.index);
    }
    expect(src.produced()).toBe(1000);
    expect(seen).toEqual([...Array(1000).keys()]);
  });

  it('follows an engine that reads far ahead, in order', async () => {
    const batchy = engine((f) => dropped(f.index, 'ingress'), 5_000);
    let expected = 0;
    for await (const { flow, base, head } of judgeUnderBoth(countingSource(20_000).flows, allowAll, batchy)) {
      expect(flow.index).toBe(expected++);
      expect([base.verdict, head.verdict]).toEqual(['FORWARDED', 'DROPPED']);
    }
    expect(expected).toBe(20_000);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    let produced = 0;
    const src = (async function* () {
      try {
        for (let i = 0; ; i++) {
          produced++;
          yield tcp(i, a, b, 80);
        }
      } finally {
        closed = true;
      }
    })();
    for await (const { flow } of judgeUnderBoth(src, allowAll, allowAll)) if (flow.index === 9) break;
    expect(closed).toBe(true);
    expect(produced).toBeLessThan(20);
  });

  it('refuses an engine that reads further ahead than allowed', async () => {
    const run = async () => {
      for await (const _ of judgeUnderBoth(countingSource(1000).flows, allowAll, blockOdd, 50)) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: 'diff-engine-lookahead' });
  });

  it('refuses engines whose verdicts do not line up with the flows', async () => {
    const skipsOne = engine((f) => forwarded(f.index === 3 ? 4 : f.index));
    const stopsEarly: JudgingEngine = {
      async *judge(flows) {
        for await (const f of flows) {
          if (f.index === 5) return;
          yield forwarded(f.index);
        }
      },
    };
    const drain = async (e: JudgingEngine) => {
      for await (const _ of judgeUnderBoth(countingSource(10).flows, allowAll, e)) void _;
    };
    await expect(drain(skipsOne)).rejects.toBeInstanceOf(DiffError);
    await expect(drain(stopsEarly)).rejects.toMatchObject({ code: 'diff-engine-mismatch' });
  });

  it('passes an error of the flow source through unchanged', async () => {
    const failing = (async function* () {
      yield tcp(0, a, b, 80);
      throw new Error('flows.json:2: malformed line');
    })();
    const run = async () => {
      for await (const _ of judgeUnderBoth(failing, allowAll, blockOdd)) void _;
    };
    await expect(run()).rejects.toThrow('flows.json:2: malformed line');
  });
});
