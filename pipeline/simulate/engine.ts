/**
 * The verdict-engine contract. Three engines implement it — `reference` (the evaluator over the policy model),
 * `tables` (the TypeScript mirror of the BPF lookup over compiled tables) and `kernel` (BPF_PROG_TEST_RUN on
 * synthesized packets) — and all three must give the same Verdict for every flow.
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import type { PolicyModel } from '../core/model/types.js';
import type { ServiceInfo } from '../core/evaluate/types.js';
import type { AuditScope } from '../core/evaluate/audit-scope.js';

/**
 * Judges a stream of flows. `judge` yields exactly one Verdict per input flow, in input order, with
 * `verdict.index === flow.index`. An engine may read ahead of its verdicts but must not buffer the whole stream.
 * DNS: a `toFQDNs` peer matches an address only through DNS answers carried by flows *before* the judged one
 * (`flow.dns.ips`); an engine learns them from the stream it judges, in order.
 */
export interface VerdictEngine {
  readonly name: string;
  judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict>;
  /**
   * Optional fast path for engines that judge without I/O: starts one run and returns a function judging that run's
   * flows one by one, in order, with exactly the verdicts `judge` would give. Lets a simulation skip a promise per
   * flow; engines that need asynchronous work simply leave it out.
   */
  startRun?(): (flow: Flow) => Verdict;
  /** Releases what the engine holds (kernel objects, maps). Idempotent. */
  close?(): Promise<void>;
}

/**
 * What an engine gets besides the policy model.
 *
 * - `flowsForDns`: when present, returns a fresh pass over the same recording (from the start, the same flows
 *   `judge` will receive). Engines that compile `toFQDNs` into addresses ahead of time (tables, kernel) may scan it
 *   to learn every address a recorded DNS answer produced, so their tables can hold them before judging starts; they
 *   must still honour "answers seen before the flow" when judging (e.g. by marking each address with the index of the
 *   flow that first revealed it). Absent when the input cannot be read twice (stdin); the engine then learns from
 *   the judged stream only.
 * - `services`: Kubernetes Services from the inventory, for `toServices` peers (none when no inventory was given).
 * - `audit`: judge as a generation in audit over that scope (would-be drops there become AUDIT); default enforce.
 */
export interface EngineOptions {
  readonly flowsForDns?: () => AsyncIterable<Flow>;
  readonly services?: readonly ServiceInfo[];
  readonly audit?: AuditScope;
}

/** What each engine module (`pipeline/simulate/engines/tables.js`, `node-agent/engine/kernel-engine.js`) exports. */
export interface EngineModule {
  createEngine(model: PolicyModel, options: EngineOptions): Promise<VerdictEngine>;
}

/** Names accepted by `--engine`. */
export type EngineName = 'reference' | 'tables' | 'kernel';

export const ENGINE_NAMES: readonly EngineName[] = ['reference', 'tables', 'kernel'];
