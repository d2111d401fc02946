/**
 * The agent's side of automatic rollout (the records contract of pipeline/core/rollout): in rollout mode the agent
 * runs the bundle its node's `nodes/<node>/target` record names instead of following `latest`, and reports where it
 * is with it to `nodes/<node>/status` after every change and every poll, so the controller can gate waves on it (a
 * node that stops reporting counts as failing). The status is derived from the agent's own state, never guessed:
 * active when the target is what enforces, rejected or rolled back when the target is among the rejections (with
 * their code), applying otherwise.
 */
import { nodeStatusRecord, nodeTargetRecord, parseNodeTarget, type NodeStatus } from '../../pipeline/core/rollout/index.js';
import { StoreError, type BundleDescriptor, type RecordStore } from '../../pipeline/stores/index.js';
import type { AgentState } from './types.js';

/** What this node should run, from its target record. */
export interface NodeTargetView {
  /** The bundle to run; null: the controller names none (keep what runs). */
  readonly descriptor: BundleDescriptor | null;
  readonly mode: 'enforce' | 'audit';
}

/** Reads this node's target and writes its status. */
export class RolloutLink {
  constructor(
    private readonly records: RecordStore,
    readonly node: string,
    private readonly labels: Readonly<Record<string, string>>,
  ) {}

  /**
   * This node's target.
   * @returns undefined when there is no (well-formed) target record yet: the controller has not reached this node.
   * @throws StoreError when the records cannot be read.
   */
  async target(signal?: AbortSignal): Promise<NodeTargetView | undefined> {
    const rec = await this.records.getRecord(nodeTargetRecord(this.node), signal ? { signal } : {});
    const t = rec ? parseNodeTarget(rec.value) : undefined;
    if (!t) return undefined;
    if (t.bundle === null) return { descriptor: null, mode: t.mode };
    // The size bounds the download exactly; a target without one is not one this controller wrote.
    if (t.bundle.size === undefined) return undefined;
    return { descriptor: { serial: t.bundle.serial, digest: t.bundle.digest, size: t.bundle.size }, mode: t.mode };
  }

  /**
   * Writes the status (compare-and-swap on the last version read, read again once on a conflict).
   * @throws StoreError when the records cannot be written.
   */
  async report(status: Omit<NodeStatus, 'node' | 'labels'>): Promise<void> {
    const name = nodeStatusRecord(this.node);
    const value: NodeStatus = { node: this.node, labels: this.labels, ...status };
    for (let attempt = 0; ; attempt++) {
      const cur = await this.records.getRecord(name);
      try {
        await this.records.putRecord(name, value, cur?.version ?? null);
        return;
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 'store-conflict') || attempt >= 2) throw err;
      }
    }
  }
}

/**
 * The status a node reports for its target, from the agent's state.
 * @param target what the node was told to run (undefined: no target yet; the enforced bundle is reported as active)
 * @param drops packets dropped by policy since the reported bundle was activated
 */
export function statusFor(state: AgentState, target: NodeTargetView | undefined, drops: number, now: number): Omit<NodeStatus, 'node' | 'labels'> {
  const enforced = state.enforced ? { serial: state.enforced.serial, digest: state.enforced.bundleDigest } : null;
  const base = { mode: 'enforce' as const, reportedAt: now, drops };
  const want = target?.descriptor;
  if (!want) return { ...base, bundle: enforced, phase: 'active' };
  const bundle = { serial: want.serial, digest: want.digest };
  if (target.mode === 'audit') {
    return { ...base, bundle, phase: 'rejected', reason: { code: 'audit-unsupported', message: 'this agent cannot run a bundle in audit mode yet; the wave must enforce' } };
  }
  if (state.enforced?.bundleDigest === want.digest) return { ...base, bundle, phase: 'active' };
  const rejection = state.rejected.get(want.digest);
  if (rejection) {
    return { ...base, bundle, phase: rejection.code === 'bake-failed' ? 'rolled-back' : 'rejected', reason: { code: rejection.code, message: rejection.message } };
  }
  return { ...base, bundle, phase: 'applying', drops: 0 };
}
