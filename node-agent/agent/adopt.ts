/**
 * Restart adoption: a restarted agent takes over what its predecessor left. The pinned maps kept enforcing; the state
 * directory says which bundle was committed. The committed bundle is re-verified (the same bundle is accepted again),
 * recompiled against the endpoints as they are now, restaged and self-tested, and switched to — which also undoes an
 * activation that never reached its commit (crash during bake). Each decision is logged.
 */
import { BundleGate, readBundleContents } from '../../pipeline/core/bundle/index.js';
import { compileTables } from '../../pipeline/core/compile/index.js';
import { sha256Digest } from '../../pipeline/stores/index.js';
import type { Generation } from '../datapath/index.js';
import { codeOf, messageOf, switchBack, type CycleDeps } from './cycle.js';
import { AgentError } from './errors.js';
import { describeMismatch } from './apply.js';
import { inventoryOf } from './inventory.js';
import { liveProbes } from './self-test.js';
import type { PersistedState } from './state-dir.js';
import type { AgentState, TrustedState } from './types.js';

/** What the datapath's control map said at start. */
export interface PinnedControl {
  readonly activeGen: Generation;
  readonly serial: number;
}

/**
 * Builds the agent's state from the state directory and the pinned datapath.
 * @returns the state to run with (never throws for a bad persisted bundle: it is logged and enforcement continues)
 * @throws AgentError `trust-downgrade` when the trust given is an older root than the state directory trusted
 */
export async function adopt(deps: CycleDeps, persisted: PersistedState, pinned: PinnedControl): Promise<AgentState> {
  const rootVersion = deps.trust.root?.signed.version ?? null;
  const trusted: TrustedState = persisted.trusted ?? { minSerial: 0, minRollbackOf: 0, trustRootVersion: rootVersion };
  if (trusted.trustRootVersion !== null && (rootVersion === null || rootVersion < trusted.trustRootVersion)) {
    // Going back to an older root would trust keys a rotation retired.
    throw new AgentError('trust-downgrade', `--trust gives ${rootVersion === null ? 'a single key' : `trust root version ${rootVersion}`}, but this state directory already trusts root version ${trusted.trustRootVersion}`);
  }
  if (rootVersion !== null && rootVersion !== trusted.trustRootVersion) {
    await deps.persistence.saveTrusted({ ...trusted, trustRootVersion: rootVersion });
    deps.log.line('info', `trust root version ${rootVersion} now trusted${trusted.trustRootVersion !== null ? ` (was ${trusted.trustRootVersion})` : ''}`);
  }
  const rejections = persisted.rejections;
  let state: AgentState = {
    trusted: { ...trusted, trustRootVersion: rootVersion },
    enforced: null,
    enforcedContents: null,
    enforcedTables: null,
    enforcedBundle: null,
    rejected: new Map(rejections.map((r) => [r.bundleDigest, r])),
    lastRejection: rejections[rejections.length - 1] ?? null,
    lastRollback: persisted.rollback,
  };
  const lkg = persisted.enforced;
  if (!lkg) {
    if (pinned.serial !== 0) {
      // A first bundle was activated but never committed: nothing known-good to return to.
      const rollback = await switchBack(deps, state, pinned.serial, 'restart-uncommitted', 'the agent stopped before the first bundle was committed');
      state = { ...state, lastRollback: rollback };
    } else {
      deps.log.line('info', 'no last-known-good bundle in the state directory: waiting for the first bundle');
    }
    return state;
  }
  const { record, bundle } = lkg;
  // Whatever else happens, this bundle can never be replaced by an older one (the record is written before the
  // trusted state: a crash between the two leaves minimums below it, raised here as the gate would have).
  const floor = {
    minSerial: Math.max(state.trusted.minSerial, record.rollbackOf === null ? record.serial : record.rollbackOf + 1),
    minRollbackOf: Math.max(state.trusted.minRollbackOf, record.rollbackOf ?? record.serial),
  };
  state = { ...state, trusted: { ...state.trusted, ...floor }, enforced: record, enforcedBundle: bundle };
  if (sha256Digest(bundle) !== record.bundleDigest) {
    deps.log.line('error', `state directory: enforced.bundle is not ${record.bundleDigest}; keeping the pinned generation ${pinned.activeGen} without re-verifying it`);
    return state;
  }
  try {
    const gate = new BundleGate(
      // The minimums are inclusive: the bundle the agent runs is admitted again, anything older is not.
      { trust: deps.trust.trust, ...floor, ...(deps.trust.root ? { root: deps.trust.root } : {}) },
      { clock: () => deps.clock.now(), ...(deps.abiVersions ? { abiVersions: deps.abiVersions } : {}) },
    );
    const contents = readBundleContents(await gate.admit([bundle]));
    const endpoints = deps.endpoints();
    const tables = compileTables(contents.model, inventoryOf(endpoints), deps.compileOptions);
    deps.log.line('info', `re-verified last-known-good serial ${record.serial} (${record.manifestDigest})`);
    state = { ...state, enforcedContents: contents, enforcedTables: tables };
    if (pinned.activeGen !== record.generation || pinned.serial !== record.serial) {
      deps.log.line('warn', `pinned generation ${pinned.activeGen} holds serial ${pinned.serial}, which was never committed`);
    }
    // Restage the committed bundle for the endpoints as they are now, check it, and switch to it.
    const gen = (1 - deps.datapath.activeGeneration()) as Generation;
    deps.datapath.stage(gen, tables);
    const m = await deps.datapath.selfTestLive(gen, tables, liveProbes(contents.model, endpoints, contents.probes, { audit: record.audit }), record.audit);
    if (m) {
      deps.log.line('error', `adopting serial ${record.serial}: ${describeMismatch(m)}; keeping the pinned generation ${pinned.activeGen}`);
      return state;
    }
    deps.datapath.activate(gen, record.serial, tables, endpoints, record.audit);
    const moved = { ...record, generation: gen };
    await deps.persistence.saveEnforced(moved, bundle);
    if (pinned.serial !== record.serial) {
      const rollback = { fromSerial: pinned.serial, toSerial: record.serial, reason: 'restart-uncommitted', message: 'the agent stopped before the bundle was committed', at: deps.clock.now().toISOString() };
      await deps.persistence.saveRollback(rollback);
      deps.log.line('warn', `rolled back from serial ${pinned.serial} to serial ${record.serial}: restart-uncommitted`);
      state = { ...state, lastRollback: rollback };
    }
    deps.log.line('info', `adopted serial ${record.serial}: enforcing generation ${gen}`);
    return { ...state, enforced: moved };
  } catch (err) {
    deps.log.line('error', `cannot re-verify last-known-good serial ${record.serial}: ${codeOf(err)}: ${messageOf(err)}; the pinned generation ${pinned.activeGen} keeps enforcing`);
    return state;
  }
}
