/**
 * Reading the rollout spec from a policy repository's palisade.yaml (its `rollout:` section; the default spec when
 * the file has none). Bounded like policy files; every mistake is reported at its file:line:col.
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { DEFAULT_LOAD_LIMITS, entryOf, parsePolicyText } from '../core/load/index.js';
import type { Diagnostic } from '../core/validate/diagnostic.js';
import { DEFAULT_ROLLOUT_SPEC, parseRolloutSpec } from './parse-spec.js';
import type { RolloutSpec } from './types.js';

/** The configuration file could not be used: `diagnostics` holds every positioned mistake. */
export class RolloutSpecError extends InputError {
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super('rollout-spec-invalid', message, diagnostics[0]?.pos);
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The rollout spec of a palisade.yaml file.
 * @throws RolloutSpecError with positioned diagnostics for YAML or spec mistakes; InputError `io-unreadable` when
 *   the file cannot be read or is too large.
 */
export async function readRolloutSpecFile(path: string): Promise<RolloutSpec> {
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InputError('io-unreadable', `${path}: not a file`);
    if (st.size > MAX_CONFIG_BYTES) throw new InputError('io-unreadable', `${path}: ${st.size} bytes, more than the ${MAX_CONFIG_BYTES} a configuration file may have`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('io-unreadable', `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, undefined, { cause: err });
  }
  const parsed = parsePolicyText({ path, text }, DEFAULT_LOAD_LIMITS);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new RolloutSpecError(`${path}: not valid YAML`, errors);
  const root = parsed.documents[0]?.root;
  if (!root) return DEFAULT_ROLLOUT_SPEC;
  if (root.kind !== 'map') throw new RolloutSpecError(`${path}: expected a mapping at the top`, [{ severity: 'error', code: 'rollout-spec-invalid', message: 'expected a mapping at the top', pos: root.pos }]);
  const node = entryOf(root, 'rollout')?.value;
  if (!node) return DEFAULT_ROLLOUT_SPEC;
  const { spec, diagnostics } = parseRolloutSpec(node);
  if (!spec) throw new RolloutSpecError(`${path}: the rollout section has ${diagnostics.length} error(s)`, diagnostics);
  return spec;
}
