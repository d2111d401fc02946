/**
 * The rollout model: what a rollout spec says (waves and gates), what agents report, what the controller measures,
 * and the state a rollout is in. Plain data only: the state is stored as JSON (in the bundle store or a Kubernetes
 * status) and every decision about it is a pure function of these types (./step.ts). Times are milliseconds since
 * the Unix epoch; durations are milliseconds.
 */
import type { BundleRef, EnforcementMode } from '../core/rollout/protocol.js';

export type { BundleRef, EnforcementMode, NodePhase, NodeReport, NodeTarget } from '../core/rollout/protocol.js';

/** Which nodes a wave adds. */
export type WaveSelector =
  /** Nodes whose labels include every pair. */
  | { readonly kind: 'labels'; readonly matchLabels: Readonly<Record<string, string>> }
  /** The first `percent` of all nodes in the rollout's order, cumulative over waves (as Argo's setWeight). */
  | { readonly kind: 'percent'; readonly percent: number };

/** One wave: the nodes it adds, how long it bakes once they all run the bundle, and in which mode. */
export interface WaveSpec {
  readonly name: string;
  readonly select: WaveSelector;
  /** Bake time once every node of the wave reports the bundle healthy, in ms. */
  readonly bakeMs: number;
  readonly mode: EnforcementMode;
  /** With mode `audit`: only the pods of these namespaces audit (sorted); absent: the whole node. */
  readonly auditNamespaces?: readonly string[];
}

/** Comparison of a metric's value with a threshold: the measurement succeeds when `value op threshold` holds. */
export interface MetricCondition {
  readonly op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  readonly threshold: number;
}

/** A metric gate: a PromQL query measured during each wave's bake, judged as Argo Rollouts judges an analysis metric. */
export interface MetricGateSpec {
  readonly name: string;
  /** PromQL; `$nodes` is replaced by a regex alternation of the wave's node names (escaped) before it runs. */
  readonly query: string;
  readonly successCondition: MetricCondition;
  /** Time between measurements, ms. */
  readonly intervalMs: number;
  /** Measurements per wave; the metric succeeds when this many were taken without passing a limit. */
  readonly count: number;
  /** Failed measurements tolerated; one more fails the gate (Argo `failureLimit`, default 0). */
  readonly failureLimit: number;
  /** Inconclusive measurements (no data) tolerated; one more pauses the rollout (Argo `inconclusiveLimit`, default 0). */
  readonly inconclusiveLimit: number;
  /** Measurement errors in a row tolerated (query failed); one more fails the gate (Argo `consecutiveErrorLimit`, default 4). */
  readonly consecutiveErrorLimit: number;
}

/** The gates every wave must pass. Apply ok, self-test ok and no automatic rollback are always on. */
export interface GatesSpec {
  /** A node in the wave that has not reported for this long counts as failing, not as healthy. */
  readonly reportTimeoutMs: number;
  /**
   * Drops observed on the wave's nodes since they activated the bundle may not exceed
   * max(`absolute`, `perPredicted` × what the simulation predicted for those nodes); either may be absent.
   */
  readonly maxDrops?: { readonly absolute?: number; readonly perPredicted?: number };
  readonly metrics: readonly MetricGateSpec[];
}

/** A rollout spec (the `rollout:` section of the policy repository's palisade.yaml). */
export interface RolloutSpec {
  /** At least one. Nodes no wave selects are reached by the last wave. */
  readonly waves: readonly WaveSpec[];
  readonly gates: GatesSpec;
}

/** A node of the fleet, as the rollout orders and selects it. */
export interface FleetNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}



/** The outcome of one metric measurement, as Argo Rollouts classifies them. */
export type MeasurementOutcome = 'successful' | 'failed' | 'inconclusive' | 'error';

/** One measurement of a metric gate during a wave. */
export interface Measurement {
  readonly gate: string;
  readonly wave: number;
  readonly at: number;
  readonly outcome: MeasurementOutcome;
  /** The value the query returned, when it returned one. */
  readonly value?: number;
  readonly message?: string;
}

/** The phase of a rollout. */
export type RolloutPhase =
  /** Waves are being reached and baked. */
  | 'progressing'
  /** Held by an operator or by an inconclusive gate; nothing is promoted until resumed. */
  | 'paused'
  /** A gate failed (or an operator aborted): every node it reached is sent back to the stable bundle. */
  | 'aborted'
  /** Every wave passed: the bundle is the new stable one. */
  | 'completed'
  /** A newer bundle's rollout took over before this one ended. */
  | 'superseded';

/** What a rollout exposed before it was aborted. */
export interface BlastRadius {
  /** Nodes that were told to run the bundle, sorted. */
  readonly nodes: readonly string[];
  /** From the first node being told to run it to the abort, ms. */
  readonly exposedMs: number;
  /** Drops reported by those nodes for the bundle when it was aborted. */
  readonly drops: number;
}

/** A rollout's whole state: stored as JSON, changed only by {@link step} (./step.ts) and the operator commands. */
export interface RolloutState {
  /** Schema version of this record. */
  readonly version: 1;
  readonly bundle: BundleRef;
  /** The bundle of the last completed rollout; null for the first rollout of a fleet. */
  readonly stable: BundleRef | null;
  readonly phase: RolloutPhase;
  /** Index into the spec's waves of the wave being reached or baked (waves.length once completed). */
  readonly wave: number;
  /** When the current wave started (its nodes were first told to run the bundle). */
  readonly waveStartedAt: number;
  /** When every node of the current wave first reported the bundle active; null until then. Bake counts from it. */
  readonly waveHealthyAt: number | null;
  /** Node → the wave that reached it and when. Sticky: a node once reached stays reached. */
  readonly reached: Readonly<Record<string, { readonly wave: number; readonly at: number }>>;
  /**
   * Nodes still running the bundle of a rollout this one superseded, until this rollout reaches them (node →
   * that bundle). On abort they, too, go back to stable.
   */
  readonly carried: Readonly<Record<string, BundleRef>>;
  /** Measurements of the current wave's metric gates, oldest first. */
  readonly measurements: readonly Measurement[];
  /** Waves promoted so far (by gates or by an operator), so that a restarted controller never promotes twice. */
  readonly promoted: readonly number[];
  readonly startedAt: number;
  readonly updatedAt: number;
  /** Why the rollout paused or aborted. */
  readonly reason: string | null;
  readonly blastRadius: BlastRadius | null;
  /** The serial of the rollout that superseded this one. */
  readonly supersededBy: number | null;
  /**
   * After an abort: the rollback bundle (the stable bundle re-signed as a rollback of this one) that the nodes it
   * touched are sent to; null until the controller has made it, and when there is no stable bundle to go back to.
   */
  readonly rollbackBundle: BundleRef | null;
}


/** Something worth a log line and an event: each step returns the ones it caused. */
export type RolloutEvent =
  | { readonly kind: 'wave-started'; readonly wave: number; readonly nodes: readonly string[] }
  | { readonly kind: 'wave-healthy'; readonly wave: number }
  | { readonly kind: 'wave-promoted'; readonly wave: number; readonly by: 'gates' | 'operator' }
  | { readonly kind: 'completed' }
  | { readonly kind: 'paused'; readonly reason: string }
  | { readonly kind: 'resumed' }
  | { readonly kind: 'aborted'; readonly reason: string; readonly blastRadius: BlastRadius }
  | { readonly kind: 'superseded'; readonly by: number };

/** A metric gate that is due for a measurement: the controller runs the query and feeds the result to the next step. */
export interface MeasurementDue {
  readonly gate: string;
  readonly wave: number;
  /** The query with `$nodes` already replaced. */
  readonly query: string;
}
