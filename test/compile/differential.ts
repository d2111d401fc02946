/**
 * Runs the reference evaluator and another engine over the same model and recording and returns every flow on which
 * they disagree (with both verdicts), for the differential tests.
 */
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import type { Flow, Verdict } from '../../pipeline/core/flow/types.js';
import { createEvaluator, DnsCache } from '../../pipeline/core/evaluate/index.js';
import type { AuditScope, ServiceInfo } from '../../pipeline/core/evaluate/index.js';

export interface Disagreement {
  readonly flow: Flow;
  readonly reference: Verdict;
  readonly other: Verdict | undefined;
}

/** The reference verdicts of a recording, fed in order with its DNS answers. */
export function referenceVerdicts(model: PolicyModel, flows: readonly Flow[], services: readonly ServiceInfo[] = [], audit?: AuditScope): Verdict[] {
  const evaluator = createEvaluator(model, { services, ...(audit ? { audit } : {}) });
  const dns = new DnsCache();
  return flows.map((f) => {
    const v = evaluator.judge(f, dns);
    dns.observe(f);
    return v;
  });
}

async function* iterate(flows: readonly Flow[]): AsyncIterable<Flow> {
  for (const f of flows) yield f;
}

/** Collects an engine's verdicts. */
export async function engineVerdicts(
  engine: { judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict>; close?(): Promise<void> },
  flows: readonly Flow[],
): Promise<Verdict[]> {
  const out: Verdict[] = [];
  try {
    for await (const v of engine.judge(iterate(flows))) out.push(v);
  } finally {
    await engine.close?.();
  }
  return out;
}

/** A fresh pass over the recording, as `EngineOptions.flowsForDns` gives one. */
export function secondPass(flows: readonly Flow[]): () => AsyncIterable<Flow> {
  return () => iterate(flows);
}

/** Flows whose verdicts differ in any field. */
export function disagreements(flows: readonly Flow[], reference: readonly Verdict[], other: readonly Verdict[]): Disagreement[] {
  const out: Disagreement[] = [];
  flows.forEach((flow, i) => {
    const r = reference[i]!;
    const o = other[i];
    if (JSON.stringify(normalise(r)) !== JSON.stringify(o === undefined ? undefined : normalise(o))) out.push({ flow, reference: r, other: o });
  });
  return out;
}

function normalise(v: Verdict): unknown {
  return { ...v, l7: v.l7 ?? null };
}
