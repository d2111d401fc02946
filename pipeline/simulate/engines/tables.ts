/**
 * The `tables` engine: compiles the policy model for the recording and judges every flow with the TypeScript mirror
 * of the datapath's lookup (pipeline/core/compile/lookup.ts) — the exact algorithm the BPF program runs, without a
 * kernel. Same Verdict contract as the reference evaluator.
 */
import type { PolicyModel } from '../../core/model/types.js';
import type { Flow, Verdict } from '../../core/flow/types.js';
import { FlowReplay, type PacketJudge, type ReplayOptions } from '../../core/compile/index.js';
import type { DatapathMirror } from '../../core/compile/index.js';

/** Options of the tables engine: services for toServices peers, map limits for the pressure check. */
export type TablesEngineOptions = ReplayOptions;

/** The engine (pipeline/simulate/engine.ts `VerdictEngine`). */
export interface TablesEngine {
  readonly name: 'tables';
  judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict>;
  close(): Promise<void>;
}

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
 * @returns an engine whose `judge` reads the whole recording (DNS answers and identities need it), compiles it, and
 *          yields one verdict per flow in order
 * @throws (from `judge`) MapPressureError when a policy map would overflow, as the agent would refuse to load it
 */
export async function createEngine(model: PolicyModel, options: TablesEngineOptions = {}): Promise<TablesEngine> {
  return {
    name: 'tables',
    close: async () => undefined,
    async *judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict> {
      const all: Flow[] = [];
      for await (const f of flows) all.push(f);
      yield* new FlowReplay(model, all, options).run(mirrorJudge());
    },
  };
}
