import { describe, expect, it } from 'vitest';
import { UsageError } from '../../pipeline/core/errors.js';
import type { Flow, RuleRef, Verdict } from '../../pipeline/core/flow/types.js';
import {
  createVerdictEngine,
  judgeFlows,
  referenceEngine,
  runSimulation,
  SimulateError,
  TextSink,
  verdictJsonLine,
  writeVerdictJsonl,
  type VerdictEngine,
} from '../../pipeline/simulate/index.js';
import { Writable } from 'node:stream';
import { flow, model, peer, pod, sel, spec } from '../evaluate/model-builder.js';

const web = pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.1' });
const api = pod({ ns: 'default', labels: { app: 'api' }, ip: '10.0.0.2' });
const m = model(spec({ name: 'api', subject: sel({ app: 'api' }, 'default'), rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))] }] }));

async function* stream(flows: Flow[]): AsyncGenerator<Flow> {
  for (const f of flows) yield f;
}

function collector(): { sink: TextSink; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { sink: new TextSink(out), text: () => chunks.join('') };
}

describe('engine registry', () => {
  it('resolves the reference engine statically', async () => {
    const engine = await createVerdictEngine('reference', m);
    expect(engine.name).toBe('reference');
  });
  it('rejects unknown names as usage errors', async () => {
    await expect(createVerdictEngine('warp', m)).rejects.toBeInstanceOf(UsageError);
  });
  it('loads the tables engine module at run time when it is built', async () => {
    const engine = await createVerdictEngine('tables', m).catch((e: unknown) => e);
    if (engine instanceof SimulateError) {
      expect(engine.code).toBe('simulate-engine-unavailable');
      expect(engine.message).toContain('tables');
    } else {
      expect((engine as VerdictEngine).name).toBeTypeOf('string');
      await (engine as VerdictEngine).close?.();
    }
  });
});

describe('streaming judgement', () => {
  const flows = [flow(web, api, { index: 0 }), flow(api, web, { index: 1 }), flow(pod({ ns: 'default', ip: '10.0.0.9' }), api, { index: 2 })];

  it('pairs every flow with its verdict, in order, through judge() and through the batch fast path alike', async () => {
    const viaStream: string[] = [];
    for await (const { flow: f, verdict } of judgeFlows(referenceEngine(m), stream(flows))) viaStream.push(`${f.index}:${verdict.verdict}`);
    expect(viaStream).toEqual(['0:FORWARDED', '1:FORWARDED', '2:DROPPED']);
    const a = collector();
    await runSimulation(referenceEngine(m), stream(flows), 'jsonl', a.sink);
    const b = collector();
    await runSimulation(referenceEngine(m), { batches: async function* () { yield flows; }, flows: () => stream(flows) }, 'jsonl', b.sink);
    expect(b.text()).toBe(a.text());
    expect(a.text().trimEnd().split('\n')).toHaveLength(3);
  });

  it('detects an engine that skips or reorders verdicts', async () => {
    const skipping: VerdictEngine = {
      name: 'skipping',
      async *judge(input: AsyncIterable<Flow>): AsyncIterable<Verdict> {
        const ev = referenceEngine(m).startRun!();
        let n = 0;
        for await (const f of input) if (n++ !== 1) yield ev(f);
      },
    };
    const err = await (async () => {
      for await (const _ of judgeFlows(skipping, stream(flows))) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulateError);
    expect((err as SimulateError).code).toBe('simulate-engine-mismatch');
  });

  it('summarises counts and dropped pairs', async () => {
    const c = collector();
    const summary = await runSimulation(referenceEngine(m), stream(flows), 'summary', c.sink, () => ['input: test']);
    expect(summary.total).toBe(3);
    expect(summary.dropped).toBe(1);
    expect(c.text()).toContain('POLICY_DENIED at ingress: 1');
    expect(c.text()).toContain('default/10.0.0.9 → default/10.0.0.2');
    expect(c.text()).toContain('input: test');
  });
});

describe('TextSink', () => {
  it('keeps order across small writes, chunk boundaries and texts longer than a chunk', async () => {
    const c = collector();
    const parts: string[] = [];
    for (let i = 0; i < 5000; i++) parts.push(`line ${i} ${'é'.repeat(i % 7)}\n`);
    parts.push('x'.repeat(100_000) + '\n', 'tail\n');
    for (const p of parts) {
      const pending = c.sink.write(p);
      if (pending) await pending;
    }
    await c.sink.end();
    expect(c.text()).toBe(parts.join(''));
  });
});

describe('TextSink bytes and numbers', () => {
  it('keeps order when text, ready-made bytes and decimals cross chunk boundaries', async () => {
    const c = collector();
    const expected: string[] = [];
    const numbers = [0, 7, 10, 99, 100, 65_535, 1_000_000, Number.MAX_SAFE_INTEGER];
    const bytes = Buffer.from('{"ü":"é"}', 'utf8');
    for (let i = 0; i < 30_000; i++) {
      const n = numbers[i % numbers.length]! + (i % 3 === 0 ? 0 : i % 1000);
      const safe = Number.isSafeInteger(n) ? n : i;
      for (const p of [c.sink.reserve(64), c.sink.write(`a${i % 5}`), c.sink.writeDecimal(safe), c.sink.writeBytes(bytes), c.sink.write('\n')]) if (p) await p;
      expected.push(`a${i % 5}${safe}{"ü":"é"}\n`);
    }
    await c.sink.end();
    expect(c.text()).toBe(expected.join(''));
  });

  it('refuses numbers it cannot print as digits', () => {
    const c = collector();
    expect(() => c.sink.writeDecimal(-1)).toThrow(RangeError);
    expect(() => c.sink.writeDecimal(1.5)).toThrow(RangeError);
    expect(() => c.sink.writeDecimal(2 ** 60)).toThrow(RangeError);
  });
});

describe('jsonl writing', () => {
  const ref = (name: string, line: number): RuleRef => ({ kind: 'CiliumNetworkPolicy', namespace: 'näm', name, rule: `${name}/0/egress/0`, file: `policies/${name}-é.yaml`, line });
  const shared = Object.freeze([ref('a', 3)]);
  const sharedDeny = Object.freeze([ref('d', 9)]);
  const none: readonly RuleRef[] = Object.freeze([]);
  const verdictOf = (i: number): Verdict => {
    switch (i % 5) {
      case 0:
        return { index: i, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: shared, denied_by: none };
      case 1:
        return { index: i, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: shared, denied_by: none, l7: 'proxy' };
      case 2:
        return { index: i, verdict: 'DROPPED', drop_reason: 'POLICY_DENY', dropped_at: 'egress', allowed_by: none, denied_by: sharedDeny };
      case 3:
        // A fresh (unfrozen) list per verdict: written without the cache.
        return { index: i, verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', dropped_at: 'ingress', allowed_by: [ref('b', i), ref('c', 1)], denied_by: none };
      default:
        return { index: i * 1_000_003, verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', dropped_at: 'ingress', allowed_by: shared, denied_by: none };
    }
  };

  it('writes exactly the bytes of verdictJsonLine, across chunk boundaries', async () => {
    const c = collector();
    const expected: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = verdictOf(i);
      const pending = writeVerdictJsonl(c.sink, v);
      if (pending) await pending;
      expected.push(verdictJsonLine(v));
    }
    await c.sink.end();
    expect(c.text()).toBe(expected.join(''));
    const first = JSON.parse(expected[1]!);
    expect(first).toEqual({ index: 1, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: [shared[0]], denied_by: [], l7: 'proxy' });
  });

  it('writes a line whose rule list is longer than a chunk', async () => {
    const c = collector();
    const many = Object.freeze(Array.from({ length: 2000 }, (_, i) => ref(`r${i}`, i)));
    const v: Verdict = { index: 5, verdict: 'FORWARDED', drop_reason: null, dropped_at: null, allowed_by: many, denied_by: none };
    for (const p of [writeVerdictJsonl(c.sink, verdictOf(0)), writeVerdictJsonl(c.sink, v), writeVerdictJsonl(c.sink, verdictOf(2))]) if (p) await p;
    await c.sink.end();
    expect(c.text()).toBe(verdictJsonLine(verdictOf(0)) + verdictJsonLine(v) + verdictJsonLine(verdictOf(2)));
  });
});
