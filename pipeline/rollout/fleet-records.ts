/**
 * The embedded rollout backend's records, kept in the bundle store beside the bundles (see stores/records.ts):
 *
 *   rollout                 the current rollout's state (the controller's, changed by compare-and-swap)
 *   rollouts/<serial>       a superseded or finished rollout, kept for `palisade rollout status`
 *   nodes/<node>/status     an agent's report: its labels and where it is with its target (the agent's)
 *   nodes/<node>/target     what the node should run (the controller's)
 *
 * Agents are not trusted to write well-formed records: every status is parsed strictly and a malformed one counts as
 * a node that has not reported.
 */
import type { BundleRef, EnforcementMode, NodePhase, NodeReport, NodeTarget, RolloutState } from './types.js';

/** The current rollout's record. */
export const ROLLOUT_RECORD = 'rollout';
/** Prefix of the node records. */
export const NODES_PREFIX = 'nodes/';

/** The record of a past rollout. */
export function pastRolloutRecord(serial: number): string {
  return `rollouts/${serial}`;
}

/** The status record an agent writes. */
export function nodeStatusRecord(node: string): string {
  return `${NODES_PREFIX}${node}/status`;
}

/** The target record the controller writes. */
export function nodeTargetRecord(node: string): string {
  return `${NODES_PREFIX}${node}/target`;
}

/** The node a `nodes/<node>/status` record name belongs to, or undefined for any other name. */
export function nodeOfStatusRecord(name: string): string | undefined {
  const m = /^nodes\/([a-z0-9][a-z0-9._-]*)\/status$/.exec(name);
  return m?.[1];
}

/** What an agent writes: its report plus the node's labels (waves select by them). */
export interface NodeStatus extends NodeReport {
  readonly labels: Readonly<Record<string, string>>;
}

/** What the controller writes for a node: its target and the rollout that set it. */
export interface NodeTargetValue extends NodeTarget {
  /** Serial of the rollout that decided this target. */
  readonly rollout: number;
}

const PHASES: readonly NodePhase[] = ['applying', 'baking', 'active', 'rejected', 'rolled-back'];
const MODES: readonly EnforcementMode[] = ['enforce', 'audit'];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A bundle reference from untrusted JSON, or undefined when malformed (null stays null). */
export function parseBundleRef(v: unknown): BundleRef | null | undefined {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { serial, digest } = v as { serial?: unknown; digest?: unknown };
  if (typeof serial !== 'number' || !Number.isSafeInteger(serial) || serial < 0 || typeof digest !== 'string' || !DIGEST.test(digest)) return undefined;
  return { serial, digest };
}

/**
 * A node status from an agent's record (untrusted): every field checked, labels bounded.
 * @returns the status, or undefined when anything is malformed.
 */
export function parseNodeStatus(node: string, v: unknown): NodeStatus | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const bundle = parseBundleRef(r.bundle);
  const labels = r.labels;
  if (bundle === undefined || typeof r.phase !== 'string' || !PHASES.includes(r.phase as NodePhase)) return undefined;
  if (typeof r.mode !== 'string' || !MODES.includes(r.mode as EnforcementMode)) return undefined;
  if (!isCount(r.reportedAt) || !isCount(r.drops) || (r.predictedDrops !== undefined && !isCount(r.predictedDrops))) return undefined;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return undefined;
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 256 || !entries.every(([k, val]) => k.length <= 317 && typeof val === 'string' && val.length <= 63)) return undefined;
  let reason: NodeReport['reason'];
  if (r.reason !== undefined) {
    const why = r.reason as { code?: unknown; message?: unknown };
    if (typeof why !== 'object' || why === null || typeof why.code !== 'string' || typeof why.message !== 'string') return undefined;
    reason = { code: why.code.slice(0, 64), message: why.message.slice(0, 1000) };
  }
  return {
    node,
    bundle,
    phase: r.phase as NodePhase,
    mode: r.mode as EnforcementMode,
    reportedAt: r.reportedAt as number,
    drops: r.drops as number,
    ...(r.predictedDrops === undefined ? {} : { predictedDrops: r.predictedDrops as number }),
    ...(reason ? { reason } : {}),
    labels: Object.fromEntries(entries) as Record<string, string>,
  };
}

/** A target record's value, or undefined when malformed. */
export function parseNodeTarget(v: unknown): NodeTargetValue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const bundle = parseBundleRef(r.bundle);
  if (bundle === undefined || typeof r.mode !== 'string' || !MODES.includes(r.mode as EnforcementMode) || !isCount(r.rollout)) return undefined;
  return { bundle, mode: r.mode as EnforcementMode, rollout: r.rollout as number };
}

/** A rollout state from the store (written by a controller), checked for the fields decisions rely on. */
export function parseRolloutState(v: unknown): RolloutState | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Partial<RolloutState>;
  if (s.version !== 1 || !parseBundleRef(s.bundle) || typeof s.phase !== 'string' || !isCount(s.wave)) return undefined;
  if (typeof s.reached !== 'object' || s.reached === null || typeof s.carried !== 'object' || s.carried === null || !Array.isArray(s.measurements) || !Array.isArray(s.promoted)) return undefined;
  const rollbackBundle = parseBundleRef((s as { rollbackBundle?: unknown }).rollbackBundle ?? null);
  return { ...(s as RolloutState), rollbackBundle: rollbackBundle ?? null };
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
