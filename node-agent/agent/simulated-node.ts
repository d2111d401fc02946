/**
 * A node agent whose datapath is the table lookup engine instead of the kernel, for machines without root or BPF:
 * the real apply cycle (gate, compile, stage, self-test, activate, bake with its health check, switch back on
 * failure) and the real rollout link (target record in, status record out), driven a round at a time in the
 * caller's process. Packets are judged by `judge`, never by a kernel: every verdict it gives is simulated.
 */
import type { PacketView } from '../../pipeline/core/compile/index.js';
import type { RecordStore } from '../../pipeline/stores/index.js';
import type { AgentStore } from './types.js';
import type { EndpointSet } from '../discovery/index.js';
import { applyBundle } from './apply.js';
import type { CycleDeps } from './cycle.js';
import { memoryLog } from './log.js';
import { RolloutLink, statusFor, type NodeTargetView } from './rollout-link.js';
import { TableDatapath } from './table-datapath.js';
import { initialAgentState, type AgentState, type AgentTrust } from './types.js';

export interface SimulatedNodeOptions {
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly store: AgentStore;
  readonly records: RecordStore;
  readonly trust: AgentTrust;
  readonly endpoints: EndpointSet;
  readonly bakeMs: number;
  /** The bake's health check: null when healthy, else why not. */
  readonly health?: () => Promise<string | null>;
}

export class SimulatedNode {
  readonly datapath = new TableDatapath();
  readonly #link: RolloutLink;
  readonly #deps: CycleDeps;
  #state: AgentState = initialAgentState();
  #target: NodeTargetView | undefined;
  #dropsAtActivation = { digest: null as string | null, drops: 0 };

  constructor(private readonly o: SimulatedNodeOptions) {
    this.#link = new RolloutLink(o.records, o.node, o.labels);
    const clock = { now: () => new Date(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
    this.#deps = {
      store: o.store,
      datapath: this.datapath,
      // Nothing outlives the process: a simulated node starts afresh every time.
      persistence: { saveTrusted: async () => undefined, saveEnforced: async () => undefined, saveRejection: async () => undefined, saveRollback: async () => undefined },
      clock,
      trust: o.trust,
      endpoints: () => o.endpoints,
      bake: { durationMs: o.bakeMs, intervalMs: 250, ...(o.health ? { health: o.health } : {}) },
      log: memoryLog(),
    };
  }

  /** The serial the node runs, or null. */
  get serial(): number | null {
    return this.#state.enforced?.serial ?? null;
  }

  /** One round: read the node's target, apply it when it is new, report the status. */
  async round(): Promise<void> {
    this.#target = await this.#link.target();
    const want = this.#target?.descriptor;
    if (want && want.digest !== this.#state.enforced?.bundleDigest && !this.#state.rejected.has(want.digest)) {
      this.#state = (await applyBundle(this.#deps, this.#state, want, this.#target?.audit)).state;
    }
    const digest = this.#state.enforced?.bundleDigest ?? null;
    const total = this.datapath.policyDrops(this.datapath.activeGeneration());
    if (digest !== this.#dropsAtActivation.digest) this.#dropsAtActivation = { digest, drops: total };
    await this.#link.report(statusFor(this.#state, this.#target, Math.max(0, total - this.#dropsAtActivation.drops), Date.now()));
  }

  /** Judges one packet at one of this node's endpoints: true forwarded, false dropped, undefined not judged here. */
  judge(packet: PacketView): boolean | undefined {
    const d = this.datapath.send(packet);
    return d.judged ? d.verdict !== 'dropped' : undefined;
  }
}
