/**
 * One apply of a new bundle: fetch → verify (the bundle gate) → compile (against the live endpoints) → stage (the
 * inactive generation) → self-test (signed probes, live probes) → activate (one control-map write) → bake (health,
 * self-test, drops; failure switches back to the last-known-good) → commit (state directory). Any failure before
 * activation leaves the running generation untouched and is recorded with its code, so the same bundle is not tried
 * again. A bundle applied in audit is self-tested, activated and baked in audit (its would-be drops are forwarded
 * and reported AUDIT). All I/O goes through the ports in `CycleDeps`.
 */
import { BundleGate, readBundleContents, type BundleContents, type VerifiedBundle } from '../../pipeline/core/bundle/index.js';
import { compileTables, type CompiledTables } from '../../pipeline/core/compile/index.js';
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import type { BundleDescriptor } from '../../pipeline/stores/index.js';
import type { Generation } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { codeOf, messageOf, recordRejection, switchBack, type CycleDeps } from './cycle.js';
import { inventoryOf } from './inventory.js';
import { liveProbes } from './self-test.js';
import type { AgentState, ApplyOutcome, ApplyStep, EnforcedRecord, ProbeMismatch } from './types.js';

/** Store failures that say nothing about the bundle: try again later instead of rejecting it. */
const TRANSIENT_STORE_CODES = new Set(['store-unreachable', 'store-truncated', 'store-protocol']);

/** Describes a probe mismatch in one line. */
export function describeMismatch(m: ProbeMismatch): string {
  return `${m.kind === 'bundle' ? 'signed probe' : 'live probe'} ${m.index} (${m.what}): expected ${m.expected}, the datapath gave ${m.actual}`;
}

/** An error thrown by the `beforeStep` hook: a simulated crash, not the bundle's fault; it leaves applyBundle as is. */
class HookEscape extends Error {
  constructor(readonly inner: unknown) {
    super('beforeStep hook');
  }
}

class Rejected extends Error {
  constructor(
    readonly step: ApplyStep,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Applies the bundle `descriptor` names, in `audit` when given (else enforcing).
 * @returns the new in-memory state and how the apply ended (never throws for a bad bundle or a failing datapath;
 *          throws when the state directory cannot be written, and rethrows what `beforeStep` throws)
 */
export async function applyBundle(deps: CycleDeps, state: AgentState, descriptor: BundleDescriptor, audit?: AuditScope): Promise<{ state: AgentState; outcome: ApplyOutcome }> {
  if (state.enforced?.bundleDigest === descriptor.digest) return done(deps, state, { kind: 'skipped', why: 'already-enforced' });
  if (state.rejected.has(descriptor.digest)) return done(deps, state, { kind: 'skipped', why: 'already-rejected' });
  let serial: number | null = null;
  let current: ApplyStep = 'fetch';
  let activated = false;
  const step = async <T>(name: ApplyStep, body: () => Promise<T> | T): Promise<T> => {
    current = name;
    try {
      deps.beforeStep?.(name);
    } catch (err) {
      throw new HookEscape(err);
    }
    const t0 = performance.now();
    try {
      return await body();
    } finally {
      deps.observer?.step?.(name, (performance.now() - t0) / 1000);
    }
  };
  try {
    let bytes: Uint8Array;
    try {
      bytes = await step('fetch', () => deps.store.get(descriptor.digest, { expectedSize: descriptor.size, ...(deps.maxBundleBytes ? { maxBytes: deps.maxBundleBytes } : {}) }));
    } catch (err) {
      if (TRANSIENT_STORE_CODES.has(codeOf(err))) {
        return done(deps, state, { kind: 'store-unreachable', code: codeOf(err), message: messageOf(err) });
      }
      throw err;
    }
    const verified: VerifiedBundle = await step('verify', () => {
      const gate = new BundleGate(
        { trust: deps.trust.trust, minSerial: state.trusted.minSerial, minRollbackOf: state.trusted.minRollbackOf, ...(deps.trust.root ? { root: deps.trust.root } : {}) },
        { clock: () => deps.clock.now(), ...(deps.abiVersions ? { abiVersions: deps.abiVersions } : {}) },
      );
      return gate.admit([bytes], deps.maxBundleBytes ? { maxBytes: deps.maxBundleBytes } : {});
    });
    serial = verified.manifest.serial;
    const contents: BundleContents = readBundleContents(verified);
    const endpoints = deps.endpoints();
    const tables = await step('compile', () => compileTables(contents.model, inventoryOf(endpoints), deps.compileOptions));
    const gen = (1 - deps.datapath.activeGeneration()) as Generation;
    await step('stage', () => deps.datapath.stage(gen, tables));
    await step('self-test', async () => {
      const m = (await deps.datapath.selfTestBundle(contents, audit)) ?? (await deps.datapath.selfTestLive(gen, tables, liveProbes(contents.model, endpoints, contents.probes, { audit }), audit));
      if (m) throw new Rejected('self-test', 'self-test-mismatch', describeMismatch(m));
    });
    await step('activate', () => {
      activated = true; // set first: a throw half way through activation is switched back too
      deps.datapath.activate(gen, verified.manifest.serial, tables, endpoints, audit);
    });
    const record: EnforcedRecord = {
      serial: verified.manifest.serial,
      rollbackOf: verified.manifest.rollbackOf,
      manifestDigest: verified.manifestDigest,
      bundleDigest: descriptor.digest,
      repository: verified.manifest.source.repository,
      commit: verified.manifest.source.commit,
      generation: gen,
      since: deps.clock.now().toISOString(),
      ...(audit ? { audit } : {}),
    };
    deps.log.line('info', `activated serial ${record.serial} (${record.manifestDigest}, commit ${record.commit}) in generation ${gen}${audit ? ` in audit (${describeAudit(audit)})` : ''}; baking for ${deps.bake.durationMs / 1000}s`);
    const bakeFailure = await step('bake', () => bake(deps, gen, contents, tables, endpoints, audit));
    if (bakeFailure !== null) {
      const rollback = await switchBack(deps, state, record.serial, 'bake-failed', bakeFailure);
      const r = await recordRejection(deps, { ...state, lastRollback: rollback }, { bundleDigest: descriptor.digest, serial, step: 'bake', code: 'bake-failed', message: bakeFailure });
      return done(deps, r.state, { kind: 'rolled-back', rejection: r.record, rollback });
    }
    await step('commit', async () => {
      // The record first: a crash before the trusted state is written still adopts this bundle on restart.
      await deps.persistence.saveEnforced(record, bytes);
      await deps.persistence.saveTrusted({ ...state.trusted, minSerial: verified.nextMinSerial, minRollbackOf: verified.nextMinRollbackOf });
    });
    deps.log.line('info', `committed serial ${record.serial} as last-known-good`);
    const next: AgentState = {
      ...state,
      trusted: { ...state.trusted, minSerial: verified.nextMinSerial, minRollbackOf: verified.nextMinRollbackOf },
      enforced: record,
      enforcedContents: contents,
      enforcedTables: tables,
      enforcedBundle: bytes,
    };
    return done(deps, next, { kind: 'committed', record });
  } catch (err) {
    if (err instanceof HookEscape) throw err.inner;
    const code = err instanceof Rejected ? err.code : codeOf(err);
    if (activated) {
      const rollback = await switchBack(deps, state, serial ?? 0, `${current}-failed`, messageOf(err));
      state = { ...state, lastRollback: rollback };
    }
    const r = await recordRejection(deps, state, { bundleDigest: descriptor.digest, serial, step: err instanceof Rejected ? err.step : current, code, message: messageOf(err) });
    return done(deps, r.state, { kind: 'rejected', record: r.record });
  }
}

function done(deps: CycleDeps, state: AgentState, outcome: ApplyOutcome): { state: AgentState; outcome: ApplyOutcome } {
  deps.observer?.outcome?.(outcome);
  return { state, outcome };
}

/** An audit scope in words, for the log. */
export function describeAudit(audit: AuditScope): string {
  return audit.kind === 'all' ? 'every endpoint' : `namespaces ${audit.namespaces.join(', ') || '(none)'}`;
}

/**
 * The bake window: until it ends, every interval, the health check, the live self-test on the active generation (in
 * its audit mode) and the policy drops of the new generation (real drops only: audited ones broke nothing).
 * @returns why the bake failed, or null
 */
export async function bake(deps: CycleDeps, gen: Generation, contents: BundleContents, tables: CompiledTables, endpoints: EndpointSet, audit: AuditScope | undefined): Promise<string | null> {
  const { durationMs, intervalMs, maxPolicyDrops, health } = deps.bake;
  const end = deps.clock.now().getTime() + durationMs;
  const dropsAtStart = deps.datapath.policyDrops(gen);
  const probes = liveProbes(contents.model, endpoints, contents.probes, { audit });
  for (let checks = 0; ; checks++) {
    const left = end - deps.clock.now().getTime();
    // A bake checks at least once: on a loaded host, setting up can outlast a short bake.
    if (left <= 0 && (checks > 0 || durationMs <= 0)) return null;
    await deps.clock.sleep(Math.max(0, Math.min(intervalMs, left)));
    if (health) {
      const why = await health();
      if (why !== null) return `health check failed: ${why}`;
    }
    const m = await deps.datapath.selfTestLive(gen, tables, probes, audit);
    if (m) return `self-test during bake: ${describeMismatch(m)}`;
    const drops = deps.datapath.policyDrops(gen) - dropsAtStart;
    if (maxPolicyDrops !== undefined && drops > maxPolicyDrops) return `${drops} packets dropped by policy, more than the ${maxPolicyDrops} allowed`;
  }
}
