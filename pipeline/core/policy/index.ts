/**
 * The policy front door of the pure core: `loadPolicyModel` turns policy files (path + text) into the validated
 * policy model, diagnostics and summary counts. Every other stage (simulation, diff, compilation, bundles) starts
 * from here; I/O (reading files and directories) lives in pipeline/sources.
 */
export { loadPolicyModel, type LoadOptions, type PolicyLoadResult, type PolicyLoadStats } from './load-policy-model.js';
export type { PolicyFile } from '../load/policy-file.js';
export type { Diagnostic, Severity } from '../validate/diagnostic.js';
export type { LoadLimits } from '../load/limits.js';
