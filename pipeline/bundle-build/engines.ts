/**
 * The real engines a bundle build runs: the reference evaluator judges probe vectors (recorded flows in order, with
 * the DNS answers seen so far, then generated edge cases) and the table compiler compiles tables for the inventory
 * the recorded flows show.
 */
import { DnsCache, createEvaluator } from '../core/evaluate/index.js';
import { compileTables, inventoryFromFlows } from '../core/compile/index.js';
import type { Flow, Verdict } from '../core/flow/types.js';
import type { PolicyModel } from '../core/model/types.js';
import type { BundleEngines } from './compose.js';

/** Reference evaluator + table compiler. */
export const REFERENCE_ENGINES: BundleEngines = {
  createJudge(model: PolicyModel): (flow: Flow) => Verdict {
    const evaluator = createEvaluator(model);
    const dns = new DnsCache();
    return (flow) => {
      const verdict = evaluator.judge(flow, dns);
      dns.observe(flow); // later flows see this flow's DNS answer, as in the recording
      return verdict;
    };
  },
  compileTables(model: PolicyModel, recordedFlows: readonly Flow[]): unknown {
    return compileTables(model, inventoryFromFlows(recordedFlows, new DnsCache()));
  },
};
