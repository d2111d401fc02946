/**
 * Reading palisade.yaml from a commit: the I/O half of the gate configuration (parsing is in gate-config.ts).
 */
import { readFileAtCommit, type GitRepository } from '../git/index.js';
import { GateConfigError } from './errors.js';
import { DEFAULT_GATE_CONFIG, GATE_CONFIG_FILE, MAX_GATE_CONFIG_BYTES, parseGateConfig, type GateConfig } from './gate-config.js';

/**
 * palisade.yaml at `commit`, or the defaults when the commit has none.
 * @throws GateConfigError when it is invalid; GitReadError when it is too large or not UTF-8.
 */
export async function gateConfigAt(repo: GitRepository, commit: string): Promise<GateConfig> {
  const text = await readFileAtCommit(repo, commit, GATE_CONFIG_FILE, MAX_GATE_CONFIG_BYTES);
  if (text === null) return DEFAULT_GATE_CONFIG;
  const parsed = parseGateConfig(text);
  if (!parsed.ok) throw new GateConfigError(parsed.diagnostics);
  return parsed.config;
}
