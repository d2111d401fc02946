import { describe, expect, it } from 'vitest';
import { UsageError } from '../../pipeline/core/errors.js';
import type { Flow, Verdict } from '../../pipeline/core/flow/types.js';
import { createVerdictEngine, judgeFlows, referenceEngine, runSimulation, SimulateError, TextSink, type VerdictEngine } from '../../pipeline/simulate/index.js';
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
      expect(engine.code).toBe('simulate.engine-unavailable');
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
    expect((err as SimulateError).code).toBe('simulate.engine-mismatch');
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
