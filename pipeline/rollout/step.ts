/**
 * The rollout's decisions, as pure functions of its state, the fleet, the agents' reports and the time: start (and
 * supersede), step (reach, judge, bake, promote, pause, abort) and the operator's commands. The controller only
 * reads inputs, calls these, stores the result with compare-and-swap and then makes the world match
 * {@link desiredTargets}; so a controller killed anywhere and restarted continues from the stored state, never
 * promotes a wave twice (promotion is one stored transition) and never skips a gate (gates are re-judged from
 * reports and stored measurements).
 *
 * Gates, in the order they are judged on every step:
 * 1. a reached node that rejected or rolled back the bundle aborts at once (apply ok, self-test ok, no rollback);
 * 2. a reached node not heard from for `reportTimeoutMs` (since its last report, or since it was reached) aborts;
 * 3. a node running the bundle with more drops than max(absolute, perPredicted × its prediction) aborts; a node in
 *    audit reports would-be drops (forwarded as AUDIT), so an audit wave fails here before anything was dropped;
 * 4. once every reached node runs the bundle (the wave is healthy) the bake starts and metric gates are measured:
 *    failed or error aborts, inconclusive pauses;
 * 5. bake time over and every metric gate successful: the wave is promoted (the last one completes the rollout).
 * A paused rollout still aborts on 1–3 (a node failing does not wait for an operator) but promotes nothing.
 *
 * Audit first, then enforce: the nodes of a wave in audit run the bundle in audit while that wave is the current
 * one; when it is promoted they are told to enforce, and the next wave is healthy only once they report enforcing
 * (and their drops stay within the bound), so the switch to enforce is gated like any other step. The spec refuses
 * audit on the last wave, which has no next step to gate its enforcement.
 */
import { assessMetric, measurementDue, worstVerdict } from './assess-metric.js';
import { RolloutError } from './errors.js';
import { planWaves } from './plan-waves.js';
import type {
  BlastRadius,
  BundleRef,
  EnforcementMode,
  FleetNode,
  Measurement,
  MeasurementDue,
  NodeReport,
  NodeTarget,
  RolloutEvent,
  RolloutSpec,
  RolloutState,
} from './types.js';

/** What one step sees. */
export interface StepInput {
  readonly spec: RolloutSpec;
  readonly fleet: readonly FleetNode[];
  /** Each node's latest report. */
  readonly reports: ReadonlyMap<string, NodeReport>;
  /** Measurements the controller took since the last step (it runs what the last step returned as due). */
  readonly measurements?: readonly Measurement[];
  readonly now: number;
}

/** What one step decided. */
export interface StepResult {
  readonly state: RolloutState;
  readonly events: readonly RolloutEvent[];
  /** Metric gates to measure before the next step. */
  readonly due: readonly MeasurementDue[];
}

/** The new rollout and, when it took over a running one, that one marked superseded. */
export interface StartResult {
  readonly state: RolloutState;
  readonly superseded: RolloutState | null;
  readonly events: readonly RolloutEvent[];
}

/**
 * Starts the rollout of `bundle`, reaching the first wave's nodes. The stable bundle is the last completed one. A
 * rollout that is still running (progressing or paused) is superseded: it stops, and the nodes it reached keep its
 * bundle until the new rollout reaches them (they are not rolled back: the newer bundle replaces it wave by wave,
 * and an abort of the new rollout sends them back to stable too).
 * @throws RolloutError `rollout-stale-bundle` when `bundle` is not newer than the previous rollout's bundle.
 */
export function startRollout(bundle: BundleRef, spec: RolloutSpec, fleet: readonly FleetNode[], previous: RolloutState | null, now: number): StartResult {
  let stable: BundleRef | null = null;
  let carried: Record<string, BundleRef> = {};
  let superseded: RolloutState | null = null;
  const events: RolloutEvent[] = [];
  if (previous) {
    if (bundle.serial <= previous.bundle.serial) {
      throw new RolloutError('rollout-stale-bundle', `bundle serial ${bundle.serial} is not newer than the current rollout's serial ${previous.bundle.serial}`);
    }
    if (previous.phase === 'completed') {
      stable = previous.bundle;
    } else {
      stable = previous.stable;
      if (previous.phase === 'progressing' || previous.phase === 'paused') {
        carried = { ...previous.carried };
        for (const node of Object.keys(previous.reached)) carried[node] = previous.bundle;
        superseded = { ...previous, phase: 'superseded', supersededBy: bundle.serial, updatedAt: now };
        events.push({ kind: 'superseded', by: bundle.serial });
      }
    }
  }
  const base: RolloutState = {
    version: 1,
    bundle,
    stable,
    phase: 'progressing',
    wave: 0,
    waveStartedAt: now,
    waveHealthyAt: null,
    reached: {},
    carried,
    measurements: [],
    promoted: [],
    startedAt: now,
    updatedAt: now,
    reason: null,
    blastRadius: null,
    supersededBy: null,
    rollbackBundle: null,
  };
  const { state, added } = reachPlanned(base, spec, fleet, now);
  events.push({ kind: 'wave-started', wave: 0, nodes: added });
  return { state, superseded, events };
}

/** One decision round; see the module comment for the order of the gates. Returns the state unchanged when ended. */
export function step(state: RolloutState, input: StepInput): StepResult {
  const { spec, fleet, reports, now } = input;
  if (state.phase !== 'progressing' && state.phase !== 'paused') return { state, events: [], due: [] };
  const events: RolloutEvent[] = [];
  let s = state;
  if (s.phase === 'progressing') {
    const reached = reachPlanned(s, spec, fleet, now);
    s = reached.state;
  }
  const inFleet = new Set(fleet.map((n) => n.name));
  const verdict = judgeNodes(s, spec, reports, inFleet, now);
  if (verdict.failure !== null) {
    const aborted = abortState(s, reports, now, verdict.failure);
    return { state: aborted, events: [...events, { kind: 'aborted', reason: verdict.failure, blastRadius: aborted.blastRadius! }], due: [] };
  }
  if (s.phase === 'paused') return { state: s, events, due: [] };

  if (!verdict.healthy) return { state: touch(s, now), events, due: [] };
  if (s.waveHealthyAt === null) {
    s = { ...s, waveHealthyAt: now };
    events.push({ kind: 'wave-healthy', wave: s.wave });
  }
  s = recordMeasurements(s, spec, input.measurements ?? []);
  const gates = spec.gates.metrics;
  const ofGate = (name: string): Measurement[] => s.measurements.filter((m) => m.gate === name);
  const metrics = worstVerdict(gates.map((g) => assessMetric(g, ofGate(g.name))));
  if (metrics === 'failed' || metrics === 'error') {
    const failedGate = gates.find((g) => assessMetric(g, ofGate(g.name)) === metrics)!;
    const reason = `metric gate '${failedGate.name}' ${metrics === 'failed' ? 'failed' : 'errored'} in wave ${s.wave} (${describeMeasurements(ofGate(failedGate.name))})`;
    const aborted = abortState(s, reports, now, reason);
    return { state: aborted, events: [...events, { kind: 'aborted', reason, blastRadius: aborted.blastRadius! }], due: [] };
  }
  if (metrics === 'inconclusive') {
    const gate = gates.find((g) => assessMetric(g, ofGate(g.name)) === 'inconclusive')!;
    const reason = `metric gate '${gate.name}' is inconclusive in wave ${s.wave} (${describeMeasurements(ofGate(gate.name))})`;
    return { state: { ...s, phase: 'paused', reason, updatedAt: now }, events: [...events, { kind: 'paused', reason }], due: [] };
  }
  const wave = spec.waves[s.wave]!;
  if (metrics === 'successful' && now - s.waveHealthyAt! >= wave.bakeMs) {
    const promoted = promoteState(s, spec, fleet, now, 'gates');
    return { state: promoted.state, events: [...events, ...promoted.events], due: [] };
  }
  const nodes = waveNodes(s);
  const due = gates
    .filter((g) => measurementDue(g, ofGate(g.name), now))
    .map((g) => ({ gate: g.name, wave: s.wave, query: g.query.replaceAll('$nodes', nodesRegex(nodes)) }));
  return { state: touch(s, now), events, due };
}

/**
 * What every node of the fleet should run under this rollout: reached nodes the bundle (in audit while their wave is
 * the current one and audits), nodes carried from a superseded rollout that bundle, everyone else the stable one. An
 * aborted rollout sends every node it or its superseded predecessor touched to the rollback bundle (their gates
 * refuse the older stable serial itself) and leaves them out of the map until that exists; the others stay on
 * stable. A completed rollout puts the bundle everywhere. A superseded rollout decides nothing (an empty map).
 */
export function desiredTargets(state: RolloutState, spec: RolloutSpec, fleet: readonly FleetNode[]): Map<string, NodeTarget> {
  const targets = new Map<string, NodeTarget>();
  if (state.phase === 'superseded') return targets;
  const stable: NodeTarget = { bundle: state.stable, mode: 'enforce' };
  for (const { name } of fleet) {
    if (state.phase === 'completed') {
      targets.set(name, { bundle: state.bundle, mode: 'enforce' });
    } else if (state.phase === 'aborted') {
      const touched = Object.hasOwn(state.reached, name) || Object.hasOwn(state.carried, name);
      if (!touched) targets.set(name, stable);
      else if (state.rollbackBundle) targets.set(name, { bundle: state.rollbackBundle, mode: 'enforce' });
    } else if (Object.hasOwn(state.reached, name)) {
      const wave = state.reached[name]!.wave;
      const mode = modeOf(state, spec, wave);
      const namespaces = mode === 'audit' ? spec.waves[wave]?.auditNamespaces : undefined;
      targets.set(name, { bundle: state.bundle, mode, ...(namespaces ? { auditNamespaces: namespaces } : {}) });
    } else if (Object.hasOwn(state.carried, name)) {
      targets.set(name, { bundle: state.carried[name]!, mode: 'enforce' });
    } else {
      targets.set(name, stable);
    }
  }
  return targets;
}

/**
 * The operator's `promote`: the current wave is promoted without waiting for its bake or metric gates (node
 * failures still abort on the next step). Resumes a paused rollout.
 * @throws RolloutError `rollout-wrong-phase` unless progressing or paused.
 */
export function promote(state: RolloutState, spec: RolloutSpec, fleet: readonly FleetNode[], now: number): StartResult {
  requirePhase(state, ['progressing', 'paused'], 'promote');
  const { state: next, events } = promoteState({ ...state, phase: 'progressing', reason: null }, spec, fleet, now, 'operator');
  return { state: next, superseded: null, events };
}

/** The operator's `pause`. @throws RolloutError `rollout-wrong-phase` unless progressing. */
export function pause(state: RolloutState, now: number, reason: string): StartResult {
  requirePhase(state, ['progressing'], 'pause');
  return { state: { ...state, phase: 'paused', reason, updatedAt: now }, superseded: null, events: [{ kind: 'paused', reason }] };
}

/**
 * The operator's `resume`: a paused rollout progresses again; the current wave's measurements start over (an
 * inconclusive gate is measured anew rather than pausing again at once).
 * @throws RolloutError `rollout-wrong-phase` unless paused.
 */
export function resume(state: RolloutState, now: number): StartResult {
  requirePhase(state, ['paused'], 'resume');
  return { state: { ...state, phase: 'progressing', reason: null, measurements: [], updatedAt: now }, superseded: null, events: [{ kind: 'resumed' }] };
}

/** The operator's `abort`. @throws RolloutError `rollout-wrong-phase` unless progressing or paused. */
export function abort(state: RolloutState, reports: ReadonlyMap<string, NodeReport>, now: number, reason: string): StartResult {
  requirePhase(state, ['progressing', 'paused'], 'abort');
  const aborted = abortState(state, reports, now, reason);
  return { state: aborted, superseded: null, events: [{ kind: 'aborted', reason, blastRadius: aborted.blastRadius! }] };
}

// ---- transitions --------------------------------------------------------------------------------------------

/** Reaches every fleet node the plan puts in a wave up to the current one and that is not reached yet. */
function reachPlanned(state: RolloutState, spec: RolloutSpec, fleet: readonly FleetNode[], now: number): { state: RolloutState; added: string[] } {
  const plan = planWaves(spec.waves, fleet);
  const added: string[] = [];
  let reached: Record<string, { wave: number; at: number }> | undefined;
  for (const [node, wave] of plan) {
    if (wave > state.wave || Object.hasOwn(state.reached, node)) continue;
    reached ??= { ...state.reached };
    reached[node] = { wave: state.wave, at: now };
    added.push(node);
  }
  if (!reached) return { state, added };
  // A node that joins a healthy wave must itself become healthy before the bake may end.
  return { state: { ...state, reached, waveHealthyAt: null, updatedAt: now }, added: added.sort() };
}

function promoteState(state: RolloutState, spec: RolloutSpec, fleet: readonly FleetNode[], now: number, by: 'gates' | 'operator'): { state: RolloutState; events: RolloutEvent[] } {
  const events: RolloutEvent[] = [{ kind: 'wave-promoted', wave: state.wave, by }];
  const promoted = state.promoted.includes(state.wave) ? state.promoted : [...state.promoted, state.wave];
  if (state.wave + 1 >= spec.waves.length) {
    events.push({ kind: 'completed' });
    return { state: { ...state, phase: 'completed', wave: spec.waves.length, promoted, measurements: [], carried: {}, reason: null, updatedAt: now }, events };
  }
  const next: RolloutState = { ...state, wave: state.wave + 1, waveStartedAt: now, waveHealthyAt: null, measurements: [], promoted, updatedAt: now };
  const { state: reached, added } = reachPlanned(next, spec, fleet, now);
  events.push({ kind: 'wave-started', wave: next.wave, nodes: added });
  return { state: { ...reached, carried: withoutReached(reached) }, events };
}

function abortState(state: RolloutState, reports: ReadonlyMap<string, NodeReport>, now: number, reason: string): RolloutState {
  const nodes = Object.keys(state.reached).sort();
  let drops = 0;
  for (const node of nodes) {
    const r = reports.get(node);
    if (r && sameBundle(r.bundle, state.bundle)) drops += r.drops;
  }
  const blastRadius: BlastRadius = { nodes, exposedMs: Math.max(0, now - state.startedAt), drops };
  return { ...state, phase: 'aborted', reason, blastRadius, updatedAt: now };
}

// ---- judging ------------------------------------------------------------------------------------------------

/** Node gates 1–3 over every reached node still in the fleet: the first failure, and whether all run the bundle. */
function judgeNodes(state: RolloutState, spec: RolloutSpec, reports: ReadonlyMap<string, NodeReport>, inFleet: ReadonlySet<string>, now: number): { failure: string | null; healthy: boolean } {
  let healthy = true;
  const limits = spec.gates.maxDrops;
  for (const node of Object.keys(state.reached).sort()) {
    if (!inFleet.has(node)) continue;
    const { wave, at } = state.reached[node]!;
    const r = reports.get(node);
    const onBundle = r !== undefined && sameBundle(r.bundle, state.bundle);
    if (onBundle && (r.phase === 'rejected' || r.phase === 'rolled-back')) {
      const why = r.reason ? `: ${r.reason.message} [${r.reason.code}]` : '';
      return { failure: `node ${node} ${r.phase === 'rejected' ? 'rejected' : 'rolled back'} bundle serial ${state.bundle.serial}${why}`, healthy: false };
    }
    const lastHeard = Math.max(at, r?.reportedAt ?? -Infinity);
    if (now - lastHeard > spec.gates.reportTimeoutMs) {
      return { failure: `node ${node} has not reported for ${Math.round((now - lastHeard) / 1000)} s (limit ${Math.round(spec.gates.reportTimeoutMs / 1000)} s)`, healthy: false };
    }
    if (onBundle && limits) {
      const bound = dropBound(limits, r.predictedDrops);
      if (bound !== undefined && r.drops > bound) {
        // In audit the drops are would-be drops (forwarded, AUDIT): the same gate, judged before anything is dropped.
        const did = r.mode === 'audit' ? 'would have dropped' : 'dropped';
        const predicted = r.predictedDrops !== undefined ? ` (simulation predicted ${r.predictedDrops})` : '';
        return { failure: `node ${node} ${did} ${r.drops} packets under bundle serial ${state.bundle.serial}${r.mode === 'audit' ? ' in audit' : ''}, above the bound of ${bound}${predicted}`, healthy: false };
      }
    }
    if (!onBundle || r.phase !== 'active' || r.mode !== modeOf(state, spec, wave)) healthy = false;
  }
  return { failure: null, healthy };
}

/** max(absolute, perPredicted × predicted) over the parts that can be computed; undefined when none can. */
function dropBound(limits: NonNullable<RolloutSpec['gates']['maxDrops']>, predicted: number | undefined): number | undefined {
  const parts: number[] = [];
  if (limits.absolute !== undefined) parts.push(limits.absolute);
  if (limits.perPredicted !== undefined && predicted !== undefined) parts.push(limits.perPredicted * predicted);
  return parts.length ? Math.max(...parts) : undefined;
}

function recordMeasurements(state: RolloutState, spec: RolloutSpec, taken: readonly Measurement[]): RolloutState {
  const known = new Set(spec.gates.metrics.map((g) => g.name));
  const fresh = taken.filter((m) => m.wave === state.wave && known.has(m.gate));
  if (fresh.length === 0) return state;
  const measurements = [...state.measurements, ...fresh].sort((a, b) => a.at - b.at);
  return { ...state, measurements };
}

function describeMeasurements(ms: readonly Measurement[]): string {
  const counts = new Map<string, number>();
  for (const m of ms) counts.set(m.outcome, (counts.get(m.outcome) ?? 0) + 1);
  const last = ms.at(-1);
  const tail = last?.message ? `; last: ${last.message}` : last?.value !== undefined ? `; last value ${last.value}` : '';
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') + tail;
}

// ---- small helpers ------------------------------------------------------------------------------------------

function modeOf(state: RolloutState, spec: RolloutSpec, wave: number): EnforcementMode {
  return wave === state.wave && spec.waves[wave]?.mode === 'audit' ? 'audit' : 'enforce';
}

function waveNodes(state: RolloutState): string[] {
  return Object.keys(state.reached).filter((n) => state.reached[n]!.wave === state.wave).sort();
}

/**
 * The text to put inside a PromQL double-quoted regex matcher (`node=~"…"`) that matches exactly these node names:
 * regex metacharacters escaped, then the string's own backslashes and quotes. `^$` (no name) when empty.
 */
export function nodesRegex(nodes: readonly string[]): string {
  if (nodes.length === 0) return '^$';
  const regex = nodes.map((n) => n.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&')).join('|');
  return regex.replace(/[\\"]/g, '\\$&');
}

function withoutReached(state: RolloutState): Record<string, BundleRef> {
  const carried: Record<string, BundleRef> = {};
  for (const [node, bundle] of Object.entries(state.carried)) if (!Object.hasOwn(state.reached, node)) carried[node] = bundle;
  return carried;
}

function sameBundle(a: BundleRef | null, b: BundleRef): boolean {
  return a !== null && a.serial === b.serial && a.digest === b.digest;
}

function touch(state: RolloutState, now: number): RolloutState {
  return state.updatedAt === now ? state : { ...state, updatedAt: now };
}

function requirePhase(state: RolloutState, allowed: readonly RolloutState['phase'][], command: string): void {
  if (!allowed.includes(state.phase)) {
    throw new RolloutError('rollout-wrong-phase', `cannot ${command} a rollout that is ${state.phase} (serial ${state.bundle.serial})`);
  }
}
