/**
 * The trust `--trust` gives the agent: one public key file (threshold 1), or a chain of trust root files (the first
 * already trusted, each next one a signed rotation of the one before).
 */
import { readFileSync, statSync } from 'node:fs';
import { parsePublicKey, parseRootFile, trustOfKey, verifyRootChain } from '../../pipeline/core/bundle/index.js';
import { AgentError } from './errors.js';
import type { AgentTrust } from './types.js';

const MAX_TRUST_FILE = 1024 * 1024;

/**
 * Reads the trust.
 * @throws AgentError `bad-argument` for a missing or oversized file; BundleError `bundle-key-invalid`,
 *         `trust-root-invalid`, `trust-root-expired`
 */
export function readAgentTrust(paths: readonly string[], now: Date): AgentTrust {
  if (paths.length === 0) throw new AgentError('bad-argument', '--trust is required');
  const files = paths.map((path) => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (err) {
      throw new AgentError('bad-argument', `${path}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { cause: err });
    }
    if (size > MAX_TRUST_FILE) throw new AgentError('bad-argument', `${path}: larger than ${MAX_TRUST_FILE} bytes`);
    return { path, bytes: new Uint8Array(readFileSync(path)) };
  });
  const first = files[0]!;
  if (files.length === 1 && !new TextDecoder().decode(first.bytes).trimStart().startsWith('{')) {
    return { trust: trustOfKey(parsePublicKey(new TextDecoder().decode(first.bytes), first.path)), root: null };
  }
  const chain = files.map((f) => parseRootFile(f.bytes, f.path));
  return { trust: verifyRootChain(chain, now), root: chain[chain.length - 1]! };
}
