/**
 * Simulation: recorded flows judged by a verdict engine into reports. `VerdictEngine` is the contract all three
 * engines implement (reference here; tables and kernel loaded at run time by `createVerdictEngine`); `runSimulation`
 * streams flows through an engine into `jsonl` (the stable per-flow contract), `table` or `summary` output.
 */
export { ENGINE_NAMES, type EngineModule, type EngineName, type EngineOptions, type VerdictEngine } from './engine.js';
export { referenceEngine } from './reference-engine.js';
export { createVerdictEngine, isEngineName } from './engine-registry.js';
export { judgeFlows, MAX_READ_AHEAD, type JudgedFlow } from './judge-stream.js';
export { verdictJsonLine, writeVerdictJsonl } from './jsonl-report.js';
export { tableHeader, tableRow } from './table-report.js';
export { SummaryCollector } from './summary-report.js';
export { endpointName, portName } from './endpoint-name.js';
export { runSimulation, REPORT_FORMATS, type BatchedFlowSource, type FlowSource, type ReportFormat } from './run-simulation.js';
export { TextSink } from './text-sink.js';
export { SimulateError } from './errors.js';
