/**
 * The agent's side of automatic rollout (the records contract of pipeline/core/rollout): in rollout mode the agent
 * runs the bundle its node's `nodes/<node>/target` record names instead of following `latest`, and reports where it
 * is with it to `nodes/<node>/status` after every change and every poll, so the controller can gate waves on it (a
 * node that stops reporting counts as failing). The status is derived from the agent's own state, never guessed:
 * active when the target is what runs in the mode the target asks (audit or enforce), rejected or rolled back when
 * the target is among the rejections (with their code), applying otherwise. Drops are the packets policy dropped,
 * or in audit would have dropped (AUDIT), since the bundle was activated; the prediction is the simulation's, from
 * the bundle's signed verdicts of the recorded flows whose dropping end is a pod of this node.
 */
import type { ProbeVector } from '../../pipeline/core/bundle/index.js';
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import { auditScopeOf, nodeStatusRecord, nodeTargetRecord, parseNodeTarget, type NodeStatus } from '../../pipeline/core/rollout/index.js';
import { StoreError, type BundleDescriptor, type RecordStore } from '../../pipeline/stores/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { modeOf, sameAudit } from './audit.js';
import type { AgentState } from './types.js';

/** What this node should run, from its target record. */
export interface NodeTargetView {
  /** The bundle to run; null: the controller names none (keep what runs). */
  readonly descriptor: BundleDescriptor | null;
  /** Where to audit instead of dropping (undefined: enforce). */
  readonly audit: AuditScope | undefined;
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
    const audit = auditScopeOf(t);
    if (t.bundle === null) return { descriptor: null, audit };
    // The size bounds the download exactly; a target without one is not one this controller wrote.
    if (t.bundle.size === undefined) return undefined;
    return { descriptor: { serial: t.bundle.serial, digest: t.bundle.digest, size: t.bundle.size }, audit };
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
 * @param drops packets dropped (or, in audit, would-be dropped) by policy since the reported bundle was activated
 * @param predictedDrops the simulation's drops for this node's recorded traffic under the reported bundle, if known
 */
export function statusFor(state: AgentState, target: NodeTargetView | undefined, drops: number, now: number, predictedDrops?: number): Omit<NodeStatus, 'node' | 'labels'> {
  const enforced = state.enforced ? { serial: state.enforced.serial, digest: state.enforced.bundleDigest } : null;
  const base = { mode: modeOf(state.enforced?.audit), reportedAt: now, drops, ...(predictedDrops === undefined ? {} : { predictedDrops }) };
  const want = target?.descriptor;
  if (!want) return { ...base, bundle: enforced, phase: 'active' };
  const bundle = { serial: want.serial, digest: want.digest };
  const running = state.enforced?.bundleDigest === want.digest;
  if (running && sameAudit(state.enforced?.audit, target.audit)) return { ...base, bundle, phase: 'active' };
  const rejection = state.rejected.get(want.digest);
  if (rejection) {
    return { ...base, bundle, phase: rejection.code === 'bake-failed' ? 'rolled-back' : 'rejected', reason: { code: rejection.code, message: rejection.message } };
  }
  // Running it, but not yet in the mode asked (audit → enforce): its drops so far still count.
  return running ? { ...base, bundle, phase: 'applying' } : { ...base, bundle, phase: 'applying', drops: 0 };
}

/**
 * Drops the simulation predicted for this node: the bundle's recorded flows (probe vectors of origin `recorded`) that
 * its signed verdicts drop at an end that is a pod of this node (by address, or by namespace and pod name).
 */
export function predictedDropsFor(probes: readonly ProbeVector[], endpoints: EndpointSet): number {
  const ips = new Set<string>();
  const pods = new Set<string>();
  for (const p of endpoints.pods) {
    if (p.interface === undefined) continue;
    for (const ip of p.ips) ips.add(ip);
    pods.add(`${p.namespace}/${p.name}`);
  }
  let n = 0;
  for (const { flow, verdict, origin } of probes) {
    if (origin !== 'recorded' || verdict.verdict !== 'DROPPED' || verdict.dropped_at === null) continue;
    // A reply is judged as the connection it answers: its ends are swapped.
    const egressEnd = flow.isReply ? flow.dst : flow.src;
    const at = verdict.dropped_at === 'egress' ? egressEnd : egressEnd === flow.src ? flow.dst : flow.src;
    if ((at.ip !== '' && ips.has(at.ip)) || (at.podName !== undefined && pods.has(`${at.namespace ?? ''}/${at.podName}`))) n++;
  }
  return n;
}
