/**
 * Endpoint churn: pods added, removed or relabelled. The enforced bundle's model is recompiled against the new
 * endpoints. When only ipcache rows changed (a peer pod came or went, or changed address), those rows are written in
 * place in the active generation; when policy entries or local endpoints changed, the new tables are staged into the
 * inactive generation, self-tested against live probes, and switched to.
 */
import { compileTables } from '../../pipeline/core/compile/index.js';
import type { Generation } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { codeOf, messageOf, type CycleDeps } from './cycle.js';
import { describeMismatch } from './apply.js';
import { inventoryOf } from './inventory.js';
import { liveProbes } from './self-test.js';
import type { AgentState } from './types.js';

/** How a reconciliation went. */
export type ReconcileOutcome = 'unchanged' | 'in-place' | 'restaged' | 'no-bundle' | 'failed';

/**
 * Brings the enforced generation in line with `endpoints`.
 * @returns the new state and what was done (failures are logged; the running generation then stays as it was)
 */
export async function reconcileEndpoints(deps: CycleDeps, state: AgentState, endpoints: EndpointSet): Promise<{ state: AgentState; outcome: ReconcileOutcome }> {
  if (!state.enforced || !state.enforcedContents || !state.enforcedTables || !state.enforcedBundle) return { state, outcome: 'no-bundle' };
  try {
    const tables = compileTables(state.enforcedContents.model, inventoryOf(endpoints), deps.compileOptions);
    const before = state.enforcedTables;
    const active = deps.datapath.activeGeneration();
    if (same(before.policy, tables.policy) && same(before.endpoints, tables.endpoints)) {
      const old = new Map(before.ipcache.map((e) => [e.prefix, e.identity]));
      const now = new Set(tables.ipcache.map((e) => e.prefix));
      const upserts = tables.ipcache.filter((e) => old.get(e.prefix) !== e.identity);
      const removals = before.ipcache.filter((e) => !now.has(e.prefix)).map((e) => e.prefix);
      if (upserts.length > 0 || removals.length > 0) deps.datapath.patchIpcache(active, upserts, removals);
      // Interfaces may have changed even when addresses did not.
      deps.datapath.activate(active, state.enforced.serial, tables, endpoints, state.enforced.audit);
      const outcome = upserts.length + removals.length > 0 ? 'in-place' : 'unchanged';
      if (outcome === 'in-place') deps.log.line('info', `endpoints changed: ${upserts.length} ipcache rows written, ${removals.length} removed in generation ${active}`);
      return { state: { ...state, enforcedTables: tables }, outcome };
    }
    const gen = (1 - active) as Generation;
    deps.datapath.stage(gen, tables);
    const audit = state.enforced.audit;
    const m = await deps.datapath.selfTestLive(gen, tables, liveProbes(state.enforcedContents.model, endpoints, state.enforcedContents.probes, { audit }), audit);
    if (m) {
      deps.log.line('error', `endpoints changed, but the restaged generation fails its self-test: ${describeMismatch(m)}; generation ${active} keeps enforcing`);
      return { state, outcome: 'failed' };
    }
    deps.datapath.activate(gen, state.enforced.serial, tables, endpoints, audit);
    const enforced = { ...state.enforced, generation: gen };
    await deps.persistence.saveEnforced(enforced, state.enforcedBundle);
    deps.log.line('info', `endpoints changed: serial ${enforced.serial} restaged for ${tables.endpoints.length} local endpoints in generation ${gen}`);
    return { state: { ...state, enforced, enforcedTables: tables }, outcome: 'restaged' };
  } catch (err) {
    deps.log.line('error', `endpoints changed, but cannot apply them: ${codeOf(err)}: ${messageOf(err)}; generation ${deps.datapath.activeGeneration()} keeps enforcing`);
    return { state, outcome: 'failed' };
  }
}

function same(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
