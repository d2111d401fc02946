/**
 * The `tables` engine: compiles the policy model for the recording and judges every flow with the TypeScript mirror
 * of the datapath's lookup (pipeline/core/compile/lookup.ts) — the exact algorithm the BPF program runs, without a
 * kernel. Same Verdict contract as the reference evaluator.
 */
import type { PolicyModel } from '../../core/model/types.js';
import type { Flow, Verdict } from '../../core/flow/types.js';
import { FlowReplay, type DatapathMirror, type PacketJudge, type ReplayOptions } from '../../core/compile/index.js';
import type { EngineOptions, VerdictEngine } from '../engine.js';

/** Options of the tables engine: the simulate engine options plus the map limits of the pressure check. */
export type TablesEngineOptions = EngineOptions & ReplayOptions;

/** The mirror as the datapath under test: it already holds every binding. */
function mirrorJudge(): PacketJudge {
  let current: DatapathMirror | undefined;
  return {
    sync(mirror) {
      current = mirror;
    },
    judge(packet) {
      return current!.judge(packet);
    },
  };
}

/**
 * Creates the tables engine.
 * @returns an engine whose `judge` compiles the recording's parties (from `flowsForDns`, a first pass, when given;
 *          otherwise chunk by chunk as the flows arrive) and yields one verdict per flow, in order
 * @throws (from `judge`) MapPressureError when a policy map would overflow, as the agent would refuse to load it
 */
export async function createEngine(model: PolicyModel, options: TablesEngineOptions = {}): Promise<VerdictEngine> {
  return {
    name: 'tables',
    async *judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict> {
      const replay = new FlowReplay(model, options);
      if (options.flowsForDns) await replay.scanAll(options.flowsForDns());
      yield* replay.run(mirrorJudge(), flows);
    },
    async close() {
      // Nothing is held between judge calls.
    },
  };
}
