/**
 * The `kernel` verdict engine: judges recorded flows by running each one as a synthesized packet through the loaded
 * BPF datapath (BPF_PROG_TEST_RUN), over tables compiled for the recording, with the reference evaluator's Verdict
 * contract. The simulate registry loads `kernel-engine.js` at run time; needs root and BPF.
 */
export { ConntrackShadow, createEngine, defaultObjectPath, kernelJudge, eventDecision, type KernelEngineOptions, type KernelVerdictEngine } from './kernel-engine.js';
