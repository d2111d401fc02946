/**
 * What the apply cycle, restart adoption and endpoint reconciliation share: their dependencies, rejection records,
 * and the switch back to the last-known-good.
 */
import { PalisadeError } from '../../pipeline/core/errors.js';
import type { CompileOptions } from '../../pipeline/core/compile/index.js';
import type { EndpointSet } from '../discovery/index.js';
import type { AgentLog } from './log.js';
import type {
  AgentClock,
  AgentDatapath,
  AgentPersistence,
  AgentState,
  AgentStore,
  AgentTrust,
  ApplyObserver,
  ApplyStep,
  BakeOptions,
  RejectionRecord,
  RollbackRecord,
} from './types.js';

/** Everything the cycle works through. */
export interface CycleDeps {
  readonly store: AgentStore;
  readonly datapath: AgentDatapath;
  readonly persistence: AgentPersistence;
  readonly clock: AgentClock;
  readonly trust: AgentTrust;
  /** The live endpoints now. */
  readonly endpoints: () => EndpointSet;
  readonly bake: BakeOptions;
  readonly log: AgentLog;
  readonly observer?: ApplyObserver;
  /** Called as each step starts (fault injection: the run command kills the process at a named step). */
  readonly beforeStep?: (step: ApplyStep) => void;
  readonly abiVersions?: readonly number[];
  readonly maxBundleBytes?: number;
  readonly compileOptions?: CompileOptions;
}

/** The stable code of an error (`internal` for one that has none). */
export function codeOf(err: unknown): string {
  return err instanceof PalisadeError ? err.code : 'internal';
}

/** The first line of an error's message. */
export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Builds, persists and remembers a rejection. */
export async function recordRejection(
  deps: CycleDeps,
  state: AgentState,
  fields: { bundleDigest: string; serial: number | null; step: ApplyStep; code: string; message: string },
): Promise<{ state: AgentState; record: RejectionRecord }> {
  const record: RejectionRecord = { ...fields, at: deps.clock.now().toISOString() };
  await deps.persistence.saveRejection(record);
  deps.log.line('warn', `rejected bundle ${fields.bundleDigest}${fields.serial !== null ? ` (serial ${fields.serial})` : ''} at ${fields.step}: ${fields.code}: ${fields.message}`);
  const rejected = new Map(state.rejected);
  rejected.set(record.bundleDigest, record);
  return { state: { ...state, rejected, lastRejection: record }, record };
}

/**
 * Switches back to the last-known-good generation (or stops enforcing when there is none) and records why.
 * @returns the rollback record
 */
export async function switchBack(deps: CycleDeps, state: AgentState, fromSerial: number, reason: string, message: string): Promise<RollbackRecord> {
  const lkg = state.enforced;
  if (lkg && state.enforcedTables) {
    deps.datapath.activate(lkg.generation, lkg.serial, state.enforcedTables, deps.endpoints(), lkg.audit);
  } else {
    deps.datapath.deactivate();
  }
  const record: RollbackRecord = { fromSerial, toSerial: lkg?.serial ?? null, reason, message, at: deps.clock.now().toISOString() };
  await deps.persistence.saveRollback(record);
  deps.log.line('warn', `rolled back from serial ${fromSerial} to ${lkg ? `serial ${lkg.serial} (generation ${lkg.generation})` : 'no policy'}: ${reason}: ${message}`);
  return record;
}
