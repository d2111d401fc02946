/**
 * The contract between the rollout controller and the node agents, as records in the bundle store (see
 * stores/records.ts): the names, the shapes, and strict parsers for what the other side wrote. Pure data, so both
 * the controller (pipeline/rollout) and the agent (node-agent, which may import only the core and the store
 * clients) use this one definition.
 *
 *   nodes/<node>/status     an agent's report: its labels and where it is with its target (written by the agent)
 *   nodes/<node>/target     what the node should run (written by the controller)
 *
 * Neither side trusts the other's records to be well-formed: a malformed status counts as a node that has not
 * reported; a malformed target is ignored. Times are milliseconds since the Unix epoch.
 */
import { parseAuditScope, type AuditScope } from '../evaluate/audit-scope.js';

/** A published bundle, as the rollout refers to it. */
export interface BundleRef {
  /** Manifest serial. */
  readonly serial: number;
  /** `sha256:<hex>` of the bundle file. */
  readonly digest: string;
  /** Size of the bundle file in bytes, when known (targets carry it: agents fetch exactly that many bytes). */
  readonly size?: number;
}

/** How a node runs a bundle: `enforce` drops what policy denies; `audit` judges by it but forwards, reporting AUDIT. */
export type EnforcementMode = 'enforce' | 'audit';

/** Where an agent is with the bundle it was told to run. */
export type NodePhase =
  /** Fetching, verifying, compiling, staging or self-testing the target; the previous generation still enforces. */
  | 'applying'
  /** Activated, in its own bake: not yet committed as last-known-good. */
  | 'baking'
  /** Committed: the reported bundle enforces (or audits) on this node. */
  | 'active'
  /** The target was refused before activation (gate, verifier, self-test, map overflow); the old one still runs. */
  | 'rejected'
  /** The target was activated and the agent switched back by itself (its bake failed). */
  | 'rolled-back';

/** One agent's latest report, as stored beside the rollout. */
export interface NodeReport {
  readonly node: string;
  /** The bundle the report is about (the agent's current target). */
  readonly bundle: BundleRef | null;
  readonly phase: NodePhase;
  readonly mode: EnforcementMode;
  /** When the agent wrote this report. */
  readonly reportedAt: number;
  /**
   * Packets dropped (or, in audit, that would have been dropped: verdict AUDIT) by policy since the agent began to
   * apply the bundle (its bake included); cumulative across its switch from audit to enforce.
   */
  readonly drops: number;
  /** Drops the simulation predicted for this node's recorded traffic, when the agent knows them. */
  readonly predictedDrops?: number;
  /** Why the agent rejected or rolled back, with its stable code. */
  readonly reason?: { readonly code: string; readonly message: string };
}

/** What a node should run now, as the rollout decides it. */
export interface NodeTarget {
  /** null: no Palisade policy (an aborted first rollout of a fleet that has no stable bundle yet). */
  readonly bundle: BundleRef | null;
  readonly mode: EnforcementMode;
  /**
   * With mode `audit`: audit only the pods of these namespaces (the rest of the node enforces the bundle). Absent:
   * the whole node audits. Sorted, at most MAX_AUDIT_NAMESPACES.
   */
  readonly auditNamespaces?: readonly string[];
}

/** Prefix of the node records. */
export const NODES_PREFIX = 'nodes/';

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
  return /^nodes\/([a-z0-9][a-z0-9._-]*)\/status$/.exec(name)?.[1];
}

/** The node a `nodes/<node>/target` record name belongs to, or undefined for any other name. */
export function nodeOfTargetRecord(name: string): string | undefined {
  return /^nodes\/([a-z0-9][a-z0-9._-]*)\/target$/.exec(name)?.[1];
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
  const { serial, digest, size } = v as { serial?: unknown; digest?: unknown; size?: unknown };
  if (typeof serial !== 'number' || !Number.isSafeInteger(serial) || serial < 0 || typeof digest !== 'string' || !DIGEST.test(digest)) return undefined;
  if (size !== undefined && !isCount(size)) return undefined;
  return size === undefined ? { serial, digest } : { serial, digest, size: size as number };
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

/** A target record's value, or undefined when malformed (auditNamespaces: only with mode audit, bounded). */
export function parseNodeTarget(v: unknown): NodeTargetValue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const bundle = parseBundleRef(r.bundle);
  if (bundle === undefined || typeof r.mode !== 'string' || !MODES.includes(r.mode as EnforcementMode) || !isCount(r.rollout)) return undefined;
  if (r.auditNamespaces === undefined) return { bundle, mode: r.mode as EnforcementMode, rollout: r.rollout as number };
  const scope = r.mode === 'audit' ? parseAuditScope({ kind: 'namespaces', namespaces: r.auditNamespaces }) : undefined;
  if (scope?.kind !== 'namespaces') return undefined;
  return { bundle, mode: 'audit', auditNamespaces: scope.namespaces, rollout: r.rollout as number };
}

/** The audit scope a target asks for: undefined to enforce, the whole node, or its pods of some namespaces. */
export function auditScopeOf(target: NodeTarget): AuditScope | undefined {
  if (target.mode !== 'audit') return undefined;
  return target.auditNamespaces ? { kind: 'namespaces', namespaces: target.auditNamespaces } : { kind: 'all' };
}

/** A non-negative safe integer. */
export function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
