/**
 * The apply cycle's shapes: its steps, what it keeps in the state directory, and the ports through which it reaches
 * the world (clock, store, datapath, health), so the cycle runs the same against the kernel and in unit tests.
 */
import type { BundleContents, RootFile, TrustPolicy } from '../../pipeline/core/bundle/index.js';
import type { CompiledTables } from '../../pipeline/core/compile/index.js';
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import type { BundleDescriptor, GetOptions } from '../../pipeline/stores/index.js';
import type { EndpointSet } from '../discovery/index.js';
import type { Generation } from '../datapath/index.js';
import type { LiveProbe } from './self-test.js';

/** The steps of one apply, in order. */
export const APPLY_STEPS = ['fetch', 'verify', 'compile', 'stage', 'self-test', 'activate', 'bake', 'commit'] as const;
/** One step of the apply cycle. */
export type ApplyStep = (typeof APPLY_STEPS)[number];

/** The bundle being enforced and since when (the last-known-good once committed). */
export interface EnforcedRecord {
  readonly serial: number;
  readonly rollbackOf: number | null;
  /** `sha256:` of manifest.json (the bundle's identity). */
  readonly manifestDigest: string;
  /** `sha256:` of the bundle file (the store's digest). */
  readonly bundleDigest: string;
  readonly repository: string;
  readonly commit: string;
  readonly generation: Generation;
  /** RFC 3339: when it was activated. */
  readonly since: string;
  /** Where it audits instead of dropping (absent: it enforces everywhere). */
  readonly audit?: AuditScope;
}

/** A bundle the agent refused, and why (kept so the same bundle is not retried forever). */
export interface RejectionRecord {
  readonly bundleDigest: string;
  readonly serial: number | null;
  readonly step: ApplyStep;
  /** The stable error code (bundle-*, store-*, policy-map-overflow, self-test-mismatch, bake-failed, ...). */
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** An automatic switch back to the last-known-good generation. */
export interface RollbackRecord {
  readonly fromSerial: number;
  /** The serial switched back to; null when there was no earlier bundle (enforcement stopped). */
  readonly toSerial: number | null;
  /** `bake-failed`, `restart-uncommitted`. */
  readonly reason: string;
  readonly message: string;
  readonly at: string;
}

/** The gate's memory, persisted (BundleGateState's minimums) and where the trust came from. */
export interface TrustedState {
  /** Lowest serial a normal bundle may carry, inclusive: the serial of the bundle committed last (or past it). */
  readonly minSerial: number;
  /** Lowest serial a rollback bundle may revert, inclusive. */
  readonly minRollbackOf: number;
  /** Version of the trust root in force (null for a single key). */
  readonly trustRootVersion: number | null;
}

/** What the agent holds in memory between applies. */
export interface AgentState {
  readonly trusted: TrustedState;
  readonly enforced: EnforcedRecord | null;
  /** The enforced bundle's contents and tables (to recompile on endpoint churn and to restore on rollback). */
  readonly enforcedContents: BundleContents | null;
  readonly enforcedTables: CompiledTables | null;
  /** The enforced bundle file (kept to re-persist the record when endpoint churn restages it). */
  readonly enforcedBundle: Uint8Array | null;
  readonly rejected: ReadonlyMap<string, RejectionRecord>;
  readonly lastRejection: RejectionRecord | null;
  readonly lastRollback: RollbackRecord | null;
}

/** The trust the gate checks against. */
export interface AgentTrust {
  readonly trust: TrustPolicy;
  readonly root: RootFile | null;
}

/** The first probe whose verdict differs. */
export interface ProbeMismatch {
  /** `bundle` (signed probe vectors) or `live` (probes for this node's endpoints). */
  readonly kind: 'bundle' | 'live';
  readonly index: number;
  /** What the probe is: origin, or parties and L4. */
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
}

/** The datapath as the apply cycle drives it. `audit` everywhere: where the generation audits (undefined: enforce). */
export interface AgentDatapath {
  /** The generation packets are judged by. */
  activeGeneration(): Generation;
  /**
   * Replaces generation `gen` (never the active one) with `tables`.
   * @throws DatapathError `map-full` / LibbpfError; the generation is left empty then
   */
  stage(gen: Generation, tables: CompiledTables): void;
  /**
   * (a) The bundle's probe vectors through its own object and tables, judged in `audit`: the first that differs from
   * its signed verdict (in audit, a signed drop at an audited point must come out AUDIT).
   */
  selfTestBundle(contents: BundleContents, audit?: AuditScope): Promise<ProbeMismatch | null>;
  /**
   * (b) Live probes (see self-test.ts `liveProbes`) judged by generation `gen` as staged, in `audit`, with the local
   * endpoints of `tables`: the first whose verdict differs from the reference evaluator's.
   */
  selfTestLive(gen: Generation, tables: CompiledTables, probes: readonly LiveProbe[], audit?: AuditScope): Promise<ProbeMismatch | null>;
  /**
   * Makes `gen` active in `audit` (one control-map write: generation, serial and audit mode together) with the local
   * endpoints of `tables`, attached to their interfaces.
   */
  activate(gen: Generation, serial: number, tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void;
  /**
   * Switches the active generation between audit and enforce in place: endpoints' audit flags first, then one
   * control-map write (so from audit to enforce, or back, every packet sees one mode or the other).
   */
  setAudit(tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void;
  /**
   * Writes single ipcache rows of generation `gen` in place (`upserts`) and removes others (`removals`, prefixes).
   * @throws DatapathError / LibbpfError
   */
  patchIpcache(gen: Generation, upserts: CompiledTables['ipcache'], removals: readonly string[]): void;
  /** Stops enforcing (no bundle was ever committed and the only one failed): detach, empty endpoints. */
  deactivate(): void;
  /** Packets of generation `gen` dropped by policy so far. */
  policyDrops(gen: Generation): number;
  /** Packets of generation `gen` that policy would have dropped but an audit forwarded (AUDIT), so far. */
  auditedDrops(gen: Generation): number;
}

/** The store as the apply cycle reads it. */
export interface AgentStore {
  readonly location: string;
  latest(options?: { signal?: AbortSignal }): Promise<BundleDescriptor | undefined>;
  get(digest: string, options?: GetOptions): Promise<Uint8Array>;
}

/** Time, injected so tests control expiry and the bake window. */
export interface AgentClock {
  now(): Date;
  /** Resolves after `ms` milliseconds (or at once when `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Where the cycle persists what must survive a restart (see state-dir.ts). */
export interface AgentPersistence {
  saveTrusted(trusted: TrustedState): Promise<void>;
  /** The new last-known-good, with its bundle file (re-verified after a restart). */
  saveEnforced(record: EnforcedRecord, bundle: Uint8Array): Promise<void>;
  saveRejection(record: RejectionRecord): Promise<void>;
  saveRollback(record: RollbackRecord): Promise<void>;
}

/** Listeners of the cycle (log, metrics). */
export interface ApplyObserver {
  step?(step: ApplyStep, seconds: number): void;
  outcome?(outcome: ApplyOutcome): void;
}

/** How one apply ended. */
export type ApplyOutcome =
  | { readonly kind: 'committed'; readonly record: EnforcedRecord }
  | { readonly kind: 'rejected'; readonly record: RejectionRecord }
  | { readonly kind: 'rolled-back'; readonly rejection: RejectionRecord; readonly rollback: RollbackRecord }
  | { readonly kind: 'skipped'; readonly why: 'already-enforced' | 'already-rejected' }
  | { readonly kind: 'store-unreachable'; readonly code: string; readonly message: string };

/** Bake settings. */
export interface BakeOptions {
  /** Length of the bake window, in milliseconds (0: no bake). */
  readonly durationMs: number;
  /** Time between checks, in milliseconds. */
  readonly intervalMs: number;
  /** Fail when the new generation drops more packets by policy than this during the window (undefined: no limit). */
  readonly maxPolicyDrops?: number;
  /** A health check: null when healthy, else why not. */
  readonly health?: () => Promise<string | null>;
}

/** The state of an agent that has enforced nothing yet and trusts no serial floor. */
export function initialAgentState(): AgentState {
  return { trusted: { minSerial: 0, minRollbackOf: 0, trustRootVersion: null }, enforced: null, enforcedContents: null, enforcedTables: null, enforcedBundle: null, rejected: new Map(), lastRejection: null, lastRollback: null };
}
