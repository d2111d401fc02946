/**
 * What a PolicyRollout object shows to kubectl beside the controller's stored state (`.status.state`, the record the
 * controller decides from): a spec naming the bundle and the waves as palisade.yaml writes them, and a status with
 * the usual conditions (`Ready`, `Progressing`, `Degraded`, each with observedGeneration, reason, message and
 * lastTransitionTime), the waves, the reached nodes and the blast radius. Pure: a function of the state, the rollout
 * spec and the previous status (whose lastTransitionTime is kept while a condition's status does not change).
 */
import type { PolicyRolloutView } from '../../stores/kubernetes-records.js';
import { parseRolloutState } from '../fleet-records.js';
import type { RolloutSpec, RolloutState, WaveSpec } from '../types.js';

/** A condition as Kubernetes objects carry them (metav1.Condition). */
export interface Condition {
  readonly type: 'Ready' | 'Progressing' | 'Degraded';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly observedGeneration: number;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

/** The view of rollouts of `spec` (the rollout section of palisade.yaml the controller runs with). */
export function policyRolloutView(spec: RolloutSpec): PolicyRolloutView {
  return {
    spec: (value) => {
      const state = parseRolloutState(value);
      return {
        bundle: state ? { ...state.bundle } : null,
        stable: state?.stable ? { ...state.stable } : null,
        waves: spec.waves.map(waveSpec),
        gates: gatesSpec(spec),
      };
    },
    status: (value, previous, generation) => {
      const state = parseRolloutState(value);
      return state ? rolloutStatus(state, spec, previous, generation) : {};
    },
  };
}

/** The status fields of a PolicyRollout for `state` (without `state` itself). */
export function rolloutStatus(state: RolloutState, spec: RolloutSpec, previous: Record<string, unknown> | undefined, generation: number): Record<string, unknown> {
  const at = rfc3339(state.updatedAt);
  const before = Array.isArray(previous?.conditions) ? (previous.conditions as Partial<Condition>[]) : [];
  const condition = (type: Condition['type'], status: Condition['status'], reason: string, message: string): Condition => {
    const old = before.find((c) => c.type === type);
    const lastTransitionTime = old?.status === status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : at;
    return { type, status, observedGeneration: generation, reason, message, lastTransitionTime };
  };
  const waveName = spec.waves[state.wave]?.name ?? `wave ${state.wave}`;
  const why = state.reason ?? '';
  let conditions: Condition[];
  switch (state.phase) {
    case 'progressing':
      conditions = [
        condition('Ready', 'False', 'RolloutInProgress', `serial ${state.bundle.serial} is rolling out`),
        condition('Progressing', 'True', state.waveHealthyAt === null ? 'WaveReaching' : 'WaveBaking', `wave ${state.wave + 1} of ${spec.waves.length} (${waveName}) ${state.waveHealthyAt === null ? 'is being reached' : 'is baking'}`),
        condition('Degraded', 'False', 'GatesPassing', 'no gate has failed'),
      ];
      break;
    case 'paused':
      conditions = [
        condition('Ready', 'False', 'Paused', why),
        condition('Progressing', 'Unknown', 'Paused', `paused in wave ${state.wave + 1} of ${spec.waves.length} (${waveName}): ${why}`),
        condition('Degraded', 'False', 'GatesPassing', 'no gate has failed'),
      ];
      break;
    case 'aborted':
      conditions = [
        condition('Ready', 'False', 'Aborted', why),
        condition('Progressing', 'False', 'Aborted', `aborted in wave ${state.wave + 1} of ${spec.waves.length} (${waveName})`),
        condition('Degraded', 'True', 'Aborted', why),
      ];
      break;
    case 'completed':
      conditions = [
        condition('Ready', 'True', 'Completed', `serial ${state.bundle.serial} is stable on every node`),
        condition('Progressing', 'False', 'Completed', `all ${spec.waves.length} wave(s) promoted`),
        condition('Degraded', 'False', 'GatesPassing', 'no gate has failed'),
      ];
      break;
    case 'superseded':
      conditions = [
        condition('Ready', 'False', 'Superseded', `superseded by serial ${state.supersededBy ?? '?'}`),
        condition('Progressing', 'False', 'Superseded', `superseded by serial ${state.supersededBy ?? '?'}`),
        condition('Degraded', 'False', 'GatesPassing', 'no gate has failed'),
      ];
      break;
  }
  const reached = Object.entries(state.reached).sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    observedGeneration: generation,
    phase: state.phase,
    serial: state.bundle.serial,
    currentWave: state.phase === 'completed' ? null : waveName,
    conditions,
    waves: spec.waves.map((w, i) => ({ name: w.name, phase: wavePhase(state, i), nodes: reached.filter(([, r]) => r.wave === i).length })),
    nodes: reached.map(([name, r]) => ({ name, wave: spec.waves[r.wave]?.name ?? String(r.wave), reachedAt: rfc3339(r.at) })),
    blastRadius: state.blastRadius ? { nodes: [...state.blastRadius.nodes], exposedSeconds: Math.round(state.blastRadius.exposedMs / 1000), drops: state.blastRadius.drops } : null,
    rollbackBundle: state.rollbackBundle ? { ...state.rollbackBundle } : null,
  };
}

function wavePhase(state: RolloutState, i: number): string {
  if (state.promoted.includes(i)) return 'Promoted';
  if (i > state.wave) return 'Pending';
  if (i < state.wave) return 'Passed';
  switch (state.phase) {
    case 'progressing':
      return state.waveHealthyAt === null ? 'Reaching' : 'Baking';
    case 'paused':
      return 'Paused';
    case 'aborted':
      return 'Aborted';
    case 'superseded':
      return 'Superseded';
    case 'completed':
      return 'Promoted';
  }
}

/** A wave as palisade.yaml writes it. */
function waveSpec(w: WaveSpec): Record<string, unknown> {
  const select = w.select.kind === 'labels' ? { nodeSelector: { matchLabels: { ...w.select.matchLabels } } } : { percent: w.select.percent };
  return { name: w.name, ...select, bake: duration(w.bakeMs), mode: w.mode };
}

function gatesSpec(spec: RolloutSpec): Record<string, unknown> {
  const g = spec.gates;
  return {
    reportTimeout: duration(g.reportTimeoutMs),
    ...(g.maxDrops ? { maxDrops: { ...g.maxDrops } } : {}),
    metrics: g.metrics.map((m) => ({
      name: m.name,
      query: m.query,
      successCondition: `${m.successCondition.op} ${m.successCondition.threshold}`,
      interval: duration(m.intervalMs),
      count: m.count,
      failureLimit: m.failureLimit,
      inconclusiveLimit: m.inconclusiveLimit,
      consecutiveErrorLimit: m.consecutiveErrorLimit,
    })),
  };
}

/** `ms` as palisade.yaml's duration text (`1h2m3s4ms`, `0s`): exact, and read back by parseDuration. */
export function duration(ms: number): string {
  const parts: [number, string][] = [[Math.floor(ms / 3_600_000), 'h'], [Math.floor(ms / 60_000) % 60, 'm'], [Math.floor(ms / 1000) % 60, 's'], [ms % 1000, 'ms']];
  const text = parts.filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join('');
  return text === '' ? '0s' : text;
}

/** An RFC 3339 time in whole seconds, as Kubernetes writes metav1.Time. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
