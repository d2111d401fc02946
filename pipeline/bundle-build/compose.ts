/**
 * Composing a bundle from what the pipeline produced: the policy model, the BPF object, probe vectors judged by the
 * reference evaluator (recorded flows plus edge cases around every rule) and, when a table compiler is given, the
 * compiled tables. The engines are handed in, so this stage stays one function of its inputs.
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import type { PolicyModel } from '../core/model/types.js';
import {
  COMPONENT,
  assembleBundle,
  buildProbeVectors,
  canonicalJsonBytes,
  generateEdgeFlows,
  probesJsonl,
  type AssembledBundle,
  type BundleComponent,
  type ManifestInput,
  type SigningKey,
} from '../core/bundle/index.js';

/** The engines a bundle build runs. */
export interface BundleEngines {
  /**
   * A fresh reference-evaluator judge for `model`. It is called with recorded flows in recording order first (so
   * DNS answers seen earlier count), then with generated flows.
   */
  createJudge(model: PolicyModel): (flow: Flow) => Verdict;
  /** The table compiler; its result (plain JSON data) becomes `tables.json`. Absent: no tables component. */
  compileTables?(model: PolicyModel, recordedFlows: readonly Flow[]): unknown;
}

/** Everything a bundle is made of. */
export interface ComposeInput {
  readonly model: PolicyModel;
  readonly recordedFlows: readonly Flow[];
  readonly bpfObject: Uint8Array;
  readonly manifest: ManifestInput;
  /** Signing keys; none gives an unsigned bundle. */
  readonly keys: readonly SigningKey[];
  readonly engines: BundleEngines;
  /** Cap on generated edge-case probes (default DEFAULT_MAX_EDGE_PROBES). */
  readonly maxEdgeProbes?: number;
}

/** A composed bundle and what went into it. */
export interface ComposedBundle extends AssembledBundle {
  /** Probe vectors kept (repeats dropped) by origin, and how many flows were judged in all. */
  readonly probes: { readonly recorded: number; readonly generated: number; readonly judged: number };
}

/**
 * Builds the components and assembles (and signs) the bundle file.
 * @throws BundleError for out-of-range manifest inputs; whatever the table compiler throws (e.g. map pressure).
 */
export function composeBundle(input: ComposeInput): ComposedBundle {
  const judge = input.engines.createJudge(input.model);
  // Synthesized parties get addresses no recorded party has: one address, one party, in the datapath too.
  const recordedIps = new Set(input.recordedFlows.flatMap((f) => [f.src.ip, f.dst.ip]).filter((ip) => ip !== ''));
  const edges = generateEdgeFlows(input.model, input.maxEdgeProbes, recordedIps);
  const vectors = buildProbeVectors(input.recordedFlows, edges, judge);
  const components: BundleComponent[] = [
    { ...COMPONENT.policyModel, bytes: canonicalJsonBytes(input.model) },
    { ...COMPONENT.bpfObject, bytes: input.bpfObject },
    { ...COMPONENT.probes, bytes: probesJsonl(vectors) },
  ];
  if (input.engines.compileTables) {
    components.push({ ...COMPONENT.tables, bytes: canonicalJsonBytes(input.engines.compileTables(input.model, input.recordedFlows)) });
  }
  const assembled = assembleBundle(input.manifest, components, input.keys);
  const recorded = vectors.filter((v) => v.origin === 'recorded').length;
  return { ...assembled, probes: { recorded, generated: vectors.length - recorded, judged: input.recordedFlows.length + edges.length } };
}
