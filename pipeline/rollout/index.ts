/**
 * Automatic node rollout: each bundle reaches the fleet wave by wave, each wave bakes behind gates (agents' apply,
 * self-test and rollback reports, drop bounds, PromQL metric gates judged as Argo Rollouts judges analyses), a
 * failing gate aborts and sends every reached node back to the stable bundle. The decisions are pure (./step.ts);
 * a controller loop stores the state and makes nodes' targets match it.
 */
export * from './types.js';
export * from './errors.js';
export { planWaves, labelsMatch } from './plan-waves.js';
export { measureGate, queryInstant, PrometheusQueryError, type PrometheusOptions, type QueryValue } from './prometheus-query.js';
export { assessMetric, worstVerdict, classifyValue, measurementDue, type MetricVerdict } from './assess-metric.js';
export { parseRolloutSpec, parseDuration, DEFAULT_ROLLOUT_SPEC } from './parse-spec.js';
export { startRollout, step, desiredTargets, promote, pause, resume, abort, nodesRegex, type StepInput, type StepResult, type StartResult } from './step.js';
export { RolloutController, readFleet, readTargets, describeEvent, type ControllerDeps, type TickResult, type FleetView } from './controller.js';
export { rollbackMaker, type RollbackMakerOptions } from './make-rollback.js';
export {
  ROLLOUT_RECORD,
  NODES_PREFIX,
  nodeStatusRecord,
  nodeTargetRecord,
  pastRolloutRecord,
  nodeOfStatusRecord,
  nodeOfTargetRecord,
  parseNodeStatus,
  parseNodeTarget,
  parseRolloutState,
  parseBundleRef,
  type NodeStatus,
  type NodeTargetValue,
} from './fleet-records.js';
export { operateRollout, type OperatorCommand } from './operate.js';
export { renderStatus, type StatusView } from './render-status.js';
export { readRolloutSpecFile, RolloutSpecError } from './spec-file.js';
