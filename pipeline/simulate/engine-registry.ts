/**
 * Resolves `--engine NAME` to an engine. `reference` is linked statically; `tables` and `kernel` are separate
 * modules loaded at run time, so the pipeline never imports node-agent code (or koffi) unless the kernel engine is
 * asked for.
 */
import type { PolicyModel } from '../core/model/types.js';
import { PalisadeError, UsageError } from '../core/errors.js';
import { ENGINE_NAMES, type EngineModule, type EngineName, type EngineOptions, type VerdictEngine } from './engine.js';
import { referenceEngine } from './reference-engine.js';
import { SimulateError } from './errors.js';

// Relative to this module in dist/pipeline/simulate/.
const ENGINE_MODULES: Readonly<Record<Exclude<EngineName, 'reference'>, string>> = {
  tables: './engines/tables.js',
  kernel: '../../node-agent/engine/kernel-engine.js',
};

/** True when `name` is an engine name. */
export function isEngineName(name: string): name is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(name);
}

/**
 * Creates the named engine.
 * @throws UsageError for an unknown name; SimulateError `simulate-engine-unavailable` when the engine's module is
 *   missing or malformed; errors the engine itself raises on start (e.g. NotSupportedError without BPF) propagate.
 */
export async function createVerdictEngine(name: string, model: PolicyModel, options: EngineOptions = {}): Promise<VerdictEngine> {
  if (!isEngineName(name)) throw new UsageError(`unknown engine '${name}' (expected ${ENGINE_NAMES.join(', ')})`);
  if (name === 'reference') return referenceEngine(model, options);
  const url = new URL(ENGINE_MODULES[name], import.meta.url);
  let mod: Partial<EngineModule>;
  try {
    mod = (await import(url.href)) as Partial<EngineModule>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const why = code === 'ERR_MODULE_NOT_FOUND' ? 'is not built' : `failed to load: ${(err as Error)?.message ?? String(err)}`;
    throw new SimulateError('simulate-engine-unavailable', `the ${name} engine ${why} (${url.pathname})`, { cause: err });
  }
  if (typeof mod.createEngine !== 'function') {
    throw new SimulateError('simulate-engine-unavailable', `the ${name} engine module does not export createEngine`);
  }
  try {
    return await mod.createEngine(model, options);
  } catch (err) {
    if (err instanceof PalisadeError) throw err;
    throw new SimulateError('simulate-engine-unavailable', `the ${name} engine could not start: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
