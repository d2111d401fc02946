/**
 * Audit first, then enforce: the enforced bundle switches between audit and enforce in place, without restaging.
 * The active generation is first self-tested in the new mode on the probe load (its own control map: nothing live
 * changes), then one control-map write switches it, then it bakes in the new mode (health, live self-test, drop
 * limit: enforcing is when traffic can break), then the record is persisted with its new mode. A self-test failure
 * leaves the running mode in force; a bake failure switches back to the old mode (one write); either records the
 * bundle as rejected (`self-test-mismatch`, `bake-failed`), and its rollout then aborts.
 */
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import { bake, describeAudit, describeMismatch } from './apply.js';
import { sameAudit } from './audit.js';
import { codeOf, messageOf, recordRejection, type CycleDeps } from './cycle.js';
import { liveProbes } from './self-test.js';
import type { AgentState, EnforcedRecord } from './types.js';

function withoutAudit(record: EnforcedRecord): EnforcedRecord {
  const copy = { ...record };
  delete (copy as { audit?: AuditScope }).audit;
  return copy;
}

/** How a switch went. */
export type SwitchAuditOutcome = 'switched' | 'unchanged' | 'no-bundle' | 'rejected' | 'rolled-back';

/**
 * Switches the enforced bundle to `audit` (undefined: enforce).
 * @returns the new state and what was done (never throws for a failing datapath: it is logged and recorded)
 */
export async function switchAudit(deps: CycleDeps, state: AgentState, audit: AuditScope | undefined): Promise<{ state: AgentState; outcome: SwitchAuditOutcome }> {
  const { enforced, enforcedContents: contents, enforcedTables: tables, enforcedBundle: bundle } = state;
  if (!enforced || !contents || !tables || !bundle) return { state, outcome: 'no-bundle' };
  if (sameAudit(enforced.audit, audit)) return { state, outcome: 'unchanged' };
  const to = audit ? `audit (${describeAudit(audit)})` : 'enforce';
  const gen = deps.datapath.activeGeneration();
  let switched = false;
  try {
    const endpoints = deps.endpoints();
    const m = await deps.datapath.selfTestLive(gen, tables, liveProbes(contents.model, endpoints, contents.probes, { audit }), audit);
    if (m) {
      const r = await recordRejection(deps, state, { bundleDigest: enforced.bundleDigest, serial: enforced.serial, step: 'self-test', code: 'self-test-mismatch', message: `switching to ${to}: ${describeMismatch(m)}` });
      return { state: r.state, outcome: 'rejected' };
    }
    switched = true; // set first: a throw half way through the switch is switched back too
    deps.datapath.setAudit(tables, endpoints, audit);
    const failure = await bake(deps, gen, contents, tables, endpoints, audit);
    if (failure !== null) {
      deps.datapath.setAudit(tables, deps.endpoints(), enforced.audit);
      const was = enforced.audit ? `audit (${describeAudit(enforced.audit)})` : 'enforce';
      const rollback = { fromSerial: enforced.serial, toSerial: enforced.serial, reason: 'bake-failed', message: `switched back to ${was}: ${failure}`, at: deps.clock.now().toISOString() };
      await deps.persistence.saveRollback(rollback);
      deps.log.line('warn', `serial ${enforced.serial}: the bake in ${to} failed, switched back to ${was}: ${failure}`);
      const r = await recordRejection(deps, { ...state, lastRollback: rollback }, { bundleDigest: enforced.bundleDigest, serial: enforced.serial, step: 'bake', code: 'bake-failed', message: `in ${to}: ${failure}` });
      return { state: r.state, outcome: 'rolled-back' };
    }
  } catch (err) {
    if (switched) deps.datapath.setAudit(tables, deps.endpoints(), enforced.audit);
    const r = await recordRejection(deps, state, { bundleDigest: enforced.bundleDigest, serial: enforced.serial, step: 'activate', code: codeOf(err), message: `switching to ${to}: ${messageOf(err)}` });
    return { state: r.state, outcome: 'rejected' };
  }
  // The datapath switched: the record follows (a state directory that cannot be written is the caller's failure).
  const record = withoutAudit(enforced);
  const next = audit ? { ...record, audit } : record;
  await deps.persistence.saveEnforced(next, bundle);
  deps.log.line('info', `serial ${enforced.serial} in generation ${gen} switched to ${to}`);
  return { state: { ...state, enforced: next }, outcome: 'switched' };
}
