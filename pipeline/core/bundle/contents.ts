/**
 * What an agent takes out of a verified bundle, typed: the policy model, the BPF object, the probe vectors and the
 * compiled tables when present. Only call it on a `VerifiedBundle`: the bytes are then exactly what was signed.
 */
import type { PolicyModel } from '../model/types.js';
import { COMPONENT } from './components.js';
import { BundleError } from './errors.js';
import { isPlainObject } from './manifest.js';
import { parseProbeVectors } from './probes.js';
import type { ProbeVector } from './probes.js';
import type { VerifiedBundle } from './verify.js';

/** The contents of a verified bundle. */
export interface BundleContents {
  readonly model: PolicyModel;
  readonly bpfObject: Uint8Array;
  readonly probes: readonly ProbeVector[];
  /** The compiled tables (pipeline/core/compile `CompiledTables`) for the recorded inventory, when the bundle has them. */
  readonly tables: unknown;
}

/**
 * Parses the components of a verified bundle.
 * @throws BundleError `bundle-malformed` when a signed component is not what its name says (a publisher bug, not an
 *   attack: the signatures already matched).
 */
export function readBundleContents(verified: VerifiedBundle): BundleContents {
  const get = (name: string): Uint8Array => {
    const bytes = verified.components.get(name);
    if (!bytes) throw new BundleError('bundle-malformed', `component '${name}' is missing`);
    return bytes;
  };
  const model = parseJson(get(COMPONENT.policyModel.name), COMPONENT.policyModel.name);
  if (!isPlainObject(model) || !Array.isArray(model.specs) || !isPlainObject(model.skipped)) {
    throw new BundleError('bundle-malformed', `${COMPONENT.policyModel.name}: not a policy model {specs, skipped}`);
  }
  const tablesBytes = verified.components.get(COMPONENT.tables.name);
  return {
    model: model as unknown as PolicyModel,
    bpfObject: get(COMPONENT.bpfObject.name),
    probes: parseProbeVectors(get(COMPONENT.probes.name)),
    tables: tablesBytes ? parseJson(tablesBytes, COMPONENT.tables.name) : null,
  };
}

function parseJson(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BundleError('bundle-malformed', `${name}: not JSON`);
  }
}
