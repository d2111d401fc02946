/**
 * The reference engine: the evaluator, fed in recording order, with the DNS cache learning from each flow after it
 * is judged (so a flow only sees answers recorded before it).
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import type { PolicyModel } from '../core/model/types.js';
import { createEvaluator } from '../core/evaluate/evaluator.js';
import { DnsCache } from '../core/evaluate/dns-cache.js';
import type { EngineOptions, VerdictEngine } from './engine.js';

/** Creates the reference engine. Each `judge` call starts with an empty DNS cache. */
export function referenceEngine(model: PolicyModel, options: EngineOptions = {}): VerdictEngine {
  const evaluator = createEvaluator(model, { ...(options.services ? { services: options.services } : {}), ...(options.audit ? { audit: options.audit } : {}) });
  const startRun = (): ((flow: Flow) => Verdict) => {
    const dns = new DnsCache();
    return (flow) => {
      const verdict = evaluator.judge(flow, dns);
      // Learn after judging: a flow only sees answers recorded before it.
      if (flow.dns) dns.observe(flow);
      return verdict;
    };
  };
  return {
    name: 'reference',
    startRun,
    async *judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict> {
      const judgeOne = startRun();
      for await (const flow of flows) yield judgeOne(flow);
    },
  };
}

/** `EngineModule` shape, so the reference engine can be loaded like the others. */
export async function createEngine(model: PolicyModel, options: EngineOptions): Promise<VerdictEngine> {
  return referenceEngine(model, options);
}
