/**
 * Verdict engines that live in the pipeline besides the reference evaluator: `tables`, the TypeScript mirror of the
 * datapath's lookup over compiled tables. (The `kernel` engine lives in node-agent/engine, loaded at run time.)
 */
export { createEngine as createTablesEngine, type TablesEngineOptions } from './tables.js';
