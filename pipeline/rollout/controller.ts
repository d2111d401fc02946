/**
 * The rollout controller over the embedded backend: each tick reads the store (the newest bundle, the rollout
 * record, every node's status), decides with the pure functions of ./step.ts, stores the new state with
 * compare-and-swap, then makes every node's target record match {@link desiredTargets}. Everything it knows is in
 * the store, so a controller killed anywhere and started again continues the same rollout; two controllers ticking
 * at once cannot both apply a transition (the slower one's write conflicts and it re-reads on its next tick). On a
 * store whose compare-and-swap is only verified (an OCI registry), a heartbeat makes a second controller stand
 * down instead (controller-heartbeat.ts).
 */
import { hostname } from 'node:os';
import { setTimeout as wait } from 'node:timers/promises';
import type { BundleStore } from '../stores/index.js';
import { readRecordsUnder, StoreError, type RecordStore, type StoredRecord } from '../stores/index.js';
import { ControllerHeartbeat } from './controller-heartbeat.js';
import {
  NODES_PREFIX,
  ROLLOUT_RECORD,
  nodeOfStatusRecord,
  nodeOfTargetRecord,
  nodeTargetRecord,
  parseNodeTarget,
  parseRolloutState,
  pastRolloutRecord,
  parseNodeStatus,
  type NodeStatus,
  type NodeTargetValue,
} from './fleet-records.js';
import { measureGate, type PrometheusOptions } from './prometheus-query.js';
import { desiredTargets, startRollout, step } from './step.js';
import type { BundleRef, FleetNode, Measurement, NodeReport, NodeTarget, RolloutEvent, RolloutSpec, RolloutState } from './types.js';

/** What the controller works with; I/O is passed in. */
export interface ControllerDeps {
  readonly bundles: BundleStore;
  readonly records: RecordStore;
  readonly spec: RolloutSpec;
  /** Where metric gates are measured; required when the spec has metric gates. */
  readonly prometheus?: PrometheusOptions;
  /** Makes and stores the rollback bundle of `stable` reverting `revert` (see make-rollback.ts). */
  readonly makeRollback?: (stable: BundleRef, revert: BundleRef) => Promise<BundleRef>;
  readonly now: () => number;
  /** One line per event and per conflict or failure. */
  readonly log: (line: string) => void;
  /** This controller's name in its heartbeat (stores with verified compare-and-swap only; default `<host>:<pid>`). */
  readonly id?: string;
}

/** What one tick saw and did. */
export interface TickResult {
  /** The rollout state after the tick (undefined: no bundle published yet). */
  readonly state: RolloutState | undefined;
  readonly events: readonly RolloutEvent[];
  /** Target records written this tick. */
  readonly targetsWritten: number;
  /** True when a compare-and-swap lost to another writer (the tick's decision was dropped; the next re-reads). */
  readonly conflicted: boolean;
  /** True when another controller's heartbeat is fresh and this one did nothing (see controller-heartbeat.ts). */
  readonly stoodDown?: boolean;
}

/** The current fleet as the store has it. */
export interface FleetView {
  readonly fleet: FleetNode[];
  readonly reports: Map<string, NodeReport>;
  readonly statuses: Map<string, NodeStatus>;
  /** Every node's target record as read with the statuses (the versions to replace). */
  readonly targetRecords: Map<string, StoredRecord>;
}

/** A rollout controller over a store's bundles and records. */
export class RolloutController {
  /** Measurements taken after the last tick, fed to the next one. */
  #pending: Measurement[] = [];
  /** Present when the store's compare-and-swap is only verified: then one controller at a time acts. */
  readonly #heartbeat: ControllerHeartbeat | undefined;
  #intervalMs = 2_000;

  /** @throws RangeError when the spec has metric gates and no Prometheus is given. */
  constructor(private readonly deps: ControllerDeps) {
    if (deps.spec.gates.metrics.length > 0 && !deps.prometheus) throw new RangeError('the rollout spec has metric gates: give the Prometheus URL to measure them');
    if (deps.records.casStrength === 'verified') {
      this.#heartbeat = new ControllerHeartbeat(deps.records, deps.id ?? `${hostname()}:${process.pid}`, deps.log);
    }
  }

  /**
   * One reconcile round.
   * @throws StoreError when the store cannot be read or written (other than a conflict, which is reported in the result).
   */
  async tick(): Promise<TickResult> {
    const { deps } = this;
    const now = deps.now();
    if (this.#heartbeat && !(await this.#heartbeat.claim(now, this.#intervalMs))) return { state: undefined, events: [], targetsWritten: 0, conflicted: false, stoodDown: true };
    const latest = await deps.bundles.latest();
    const record = await deps.records.getRecord(ROLLOUT_RECORD);
    let state = record ? parseRolloutState(record.value) : undefined;
    if (record && !state) throw new StoreError('store-corrupt', `${deps.records.location}: the ${ROLLOUT_RECORD} record is not a rollout state`);
    const view = await readFleet(deps.records);
    const events: RolloutEvent[] = [];
    let version = record?.version ?? null;
    let conflicted = false;

    const store = async (next: RolloutState): Promise<boolean> => {
      try {
        version = await deps.records.putRecord(ROLLOUT_RECORD, next, version);
        state = next;
        return true;
      } catch (err) {
        if (err instanceof StoreError && err.code === 'store-conflict') {
          deps.log(`rollout: another writer changed the rollout record; re-reading next tick`);
          conflicted = true;
          return false;
        }
        throw err;
      }
    };

    if (latest && (!state || latest.serial > state.bundle.serial)) {
      const started = startRollout({ serial: latest.serial, digest: latest.digest, size: latest.size }, deps.spec, view.fleet, state ?? null, now);
      if (await store(started.state)) {
        events.push(...started.events);
        if (started.superseded) await keepPast(deps.records, started.superseded, deps.log);
        this.#pending = [];
      }
    } else if (state && (state.phase === 'progressing' || state.phase === 'paused')) {
      const r = step(state, { spec: deps.spec, fleet: view.fleet, reports: view.reports, measurements: this.#pending, now });
      this.#pending = [];
      if (r.state !== state && (await store(r.state))) events.push(...r.events);
      if (!conflicted && deps.prometheus && r.due.length > 0) {
        const gates = new Map(deps.spec.gates.metrics.map((g) => [g.name, g]));
        this.#pending = await Promise.all(r.due.map((d) => measureGate(d, gates.get(d.gate)!, deps.prometheus!, deps.now())));
      }
    }

    const current = state as RolloutState | undefined;
    if (current?.phase === 'aborted' && !current.rollbackBundle && current.stable && deps.makeRollback && !conflicted) {
      const rollbackBundle = await deps.makeRollback(current.stable, current.bundle);
      deps.log(`rollout: rollback bundle ${rollbackBundle.digest} (serial ${rollbackBundle.serial}, reverting ${current.bundle.serial}) stored`);
      await store({ ...current, rollbackBundle, updatedAt: now });
    }
    for (const e of events) deps.log(`rollout ${state!.bundle.serial}: ${describeEvent(e)}`);
    const targetsWritten = state && !conflicted ? await writeTargets(deps.records, state, deps.spec, view, deps.log) : 0;
    return { state, events, targetsWritten, conflicted };
  }

  /** Ticks every `intervalMs` until `signal` aborts; a failing tick is logged and retried with backoff (capped). */
  async run(signal: AbortSignal, intervalMs = 2_000): Promise<void> {
    this.#intervalMs = intervalMs;
    let delay = intervalMs;
    while (!signal.aborted) {
      try {
        await this.tick();
        delay = intervalMs;
      } catch (err) {
        delay = Math.min(delay * 2, 60_000);
        this.deps.log(`rollout: tick failed: ${(err as Error).message}; retrying in ${Math.round(delay / 1000)} s`);
      }
      await sleep(delay * (0.9 + Math.random() * 0.2), signal);
    }
  }
}

/**
 * Every node status and target record in the store (malformed statuses left out: such a node counts as not
 * reporting), in one listing call where the store has one (see readRecordsUnder).
 */
export async function readFleet(records: RecordStore): Promise<FleetView> {
  const statuses = new Map<string, NodeStatus>();
  const targetRecords = new Map<string, StoredRecord>();
  const wanted = (name: string): boolean => nodeOfStatusRecord(name) !== undefined || nodeOfTargetRecord(name) !== undefined;
  for (const rec of await readRecordsUnder(records, NODES_PREFIX, wanted)) {
    const target = nodeOfTargetRecord(rec.name);
    if (target !== undefined) {
      targetRecords.set(target, { value: rec.value, version: rec.version });
      continue;
    }
    const node = nodeOfStatusRecord(rec.name)!;
    const status = parseNodeStatus(node, rec.value);
    if (status) statuses.set(node, status);
  }
  const fleet = [...statuses.values()].map((s) => ({ name: s.node, labels: s.labels }));
  return { fleet, reports: new Map(statuses), statuses, targetRecords };
}

/** Every well-formed node target in the store (what the controller last told each node). */
export async function readTargets(records: RecordStore): Promise<Map<string, NodeTargetValue>> {
  const targets = new Map<string, NodeTargetValue>();
  for (const rec of await readRecordsUnder(records, NODES_PREFIX, (name) => nodeOfTargetRecord(name) !== undefined)) {
    const value = parseNodeTarget(rec.value);
    if (value) targets.set(nodeOfTargetRecord(rec.name)!, value);
  }
  return targets;
}

/**
 * Writes the target records that differ from what the rollout decides, replacing the versions read with the fleet
 * (a target changed since conflicts and is rewritten next tick). @returns how many were written.
 */
async function writeTargets(records: RecordStore, state: RolloutState, spec: RolloutSpec, view: FleetView, log: (l: string) => void): Promise<number> {
  let written = 0;
  for (const [node, target] of desiredTargets(state, spec, view.fleet)) {
    const name = nodeTargetRecord(node);
    const cur = view.targetRecords.get(node);
    const have = cur ? parseNodeTarget(cur.value) : undefined;
    if (have && sameTarget(have, target)) continue;
    const value: NodeTargetValue = { ...target, rollout: state.bundle.serial };
    try {
      await records.putRecord(name, value, cur?.version ?? null);
      written++;
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'store-conflict')) throw err;
      log(`rollout: target of ${node} changed underneath; rewriting next tick`);
    }
  }
  return written;
}

function sameTarget(a: NodeTargetValue, b: NodeTarget): boolean {
  const sameScope = (a.auditNamespaces ?? []).join('\n') === (b.auditNamespaces ?? []).join('\n') && (a.auditNamespaces === undefined) === (b.auditNamespaces === undefined);
  return a.mode === b.mode && sameScope && (a.bundle === null ? b.bundle === null : b.bundle !== null && a.bundle.serial === b.bundle.serial && a.bundle.digest === b.bundle.digest);
}

async function keepPast(records: RecordStore, past: RolloutState, log: (l: string) => void): Promise<void> {
  try {
    const name = pastRolloutRecord(past.bundle.serial);
    const cur = await records.getRecord(name);
    await records.putRecord(name, past, cur?.version ?? null);
  } catch (err) {
    log(`rollout: could not keep the superseded rollout ${past.bundle.serial}: ${(err as Error).message}`);
  }
}

/** One line for an event. */
export function describeEvent(e: RolloutEvent): string {
  switch (e.kind) {
    case 'wave-started':
      return `wave ${e.wave} started on ${e.nodes.length ? e.nodes.join(', ') : 'no new node'}`;
    case 'wave-healthy':
      return `wave ${e.wave} healthy: every reached node runs the bundle; baking`;
    case 'wave-promoted':
      return `wave ${e.wave} promoted by ${e.by === 'gates' ? 'its gates' : 'an operator'}`;
    case 'completed':
      return 'completed: the bundle is stable everywhere';
    case 'paused':
      return `paused: ${e.reason}`;
    case 'resumed':
      return 'resumed';
    case 'aborted':
      return `ABORTED: ${e.reason}; blast radius ${e.blastRadius.nodes.length} node(s) (${e.blastRadius.nodes.join(', ')}), exposed ${Math.round(e.blastRadius.exposedMs / 1000)} s, ${e.blastRadius.drops} drop(s)`;
    case 'superseded':
      return `superseded by serial ${e.by}`;
  }
}

/** Waits `ms`, or less when `signal` aborts first (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}
