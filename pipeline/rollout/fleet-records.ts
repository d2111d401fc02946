/**
 * The controller's own records in the bundle store (the node records shared with the agents are defined in
 * core/rollout/protocol.ts):
 *
 *   rollout                 the current rollout's state (changed by compare-and-swap)
 *   rollouts/<serial>       a superseded rollout, kept for `palisade rollout status`
 */
import { isCount, parseBundleRef } from '../core/rollout/protocol.js';
import type { RolloutState } from './types.js';

export {
  NODES_PREFIX,
  nodeStatusRecord,
  nodeTargetRecord,
  nodeOfStatusRecord,
  nodeOfTargetRecord,
  parseBundleRef,
  parseNodeStatus,
  parseNodeTarget,
  type NodeStatus,
  type NodeTargetValue,
} from '../core/rollout/protocol.js';

/** The current rollout's record. */
export const ROLLOUT_RECORD = 'rollout';

/** The record of a past rollout. */
export function pastRolloutRecord(serial: number): string {
  return `rollouts/${serial}`;
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

