/**
 * The impact diff of two commits, end to end, as one stage that the CLI, a GitHub Action or a webhook handler can
 * call alike: both policy trees read from Git objects (no checkout), loaded and validated, the recorded flows
 * streamed once through the reference engine under both, and the report built.
 */
import type { Diagnostic } from '../core/validate/diagnostic.js';
import type { PolicyModel } from '../core/model/types.js';
import { loadPolicyModel } from '../core/policy/index.js';
import { FlowReader, readInventory, type Inventory } from '../flows/index.js';
import { openRepository, readPolicyTree, type PolicyTreeSnapshot, type TreeReadLimits } from '../git/index.js';
import { referenceEngine, type VerdictEngine } from '../simulate/index.js';
import { selectsEndpointOf } from './coverage.js';
import { diffPolicies } from './diff-policies.js';
import type { DiffLimits } from './aggregate.js';
import type { DiffReport, RefInfo } from './report.js';

export interface DiffGitRefsOptions {
  /** A work tree (or a directory in one) or a bare repository. */
  readonly repo: string;
  readonly base: string;
  readonly head: string;
  /** Policy directory relative to the repository root; '' for the whole repository. */
  readonly policies: string;
  /** Recorded flow files in order (`-` is stdin, `.gz` is read compressed). */
  readonly flows: readonly string[];
  readonly inventory?: readonly string[];
  /** Count and skip malformed flow lines instead of failing on the first. */
  readonly skipInvalid?: boolean;
  /** What `-` reads (default process.stdin). */
  readonly stdin?: AsyncIterable<Buffer | string>;
  readonly treeLimits?: Partial<TreeReadLimits>;
  readonly limits?: Partial<DiffLimits>;
}

export type DiffGitRefsResult =
  /** The head policies have errors: nothing was simulated. `diagnostics` are all of head's, sorted. */
  | { readonly kind: 'head-invalid'; readonly head: RefInfo; readonly diagnostics: readonly Diagnostic[] }
  | {
      readonly kind: 'report';
      readonly report: DiffReport;
      /** Warnings about the head policies (there are no errors in head here). */
      readonly headWarnings: readonly Diagnostic[];
      /** Errors in the base policies: those objects were left out of the base model. */
      readonly baseErrors: readonly Diagnostic[];
      /** The first few malformed lines skipped (with `skipInvalid`), as `file:line: message`. */
      readonly skippedSamples: readonly string[];
    };

/**
 * Diffs the policies of two commits against recorded traffic.
 * @throws GitReadError (repository, ref, directory), FlowIoError / FlowInputError / InventoryError (flow and
 *   inventory input), DiffError (an engine broke its contract)
 */
export async function diffGitRefs(options: DiffGitRefsOptions): Promise<DiffGitRefsResult> {
  const repo = await openRepository(options.repo);
  const treeOptions = options.treeLimits ? { limits: options.treeLimits } : {};
  const baseTree = await readPolicyTree(repo, options.base, options.policies, treeOptions);
  const headTree = await readPolicyTree(repo, options.head, options.policies, treeOptions);

  const head = loadPolicyModel(headTree.files);
  if (head.diagnostics.some((d) => d.severity === 'error')) {
    return { kind: 'head-invalid', head: refInfo(headTree), diagnostics: head.diagnostics };
  }
  // The base is what runs now; its invalid objects are left out, as a cluster would have rejected them.
  const base = loadPolicyModel(baseTree.files);

  const inventory = options.inventory?.length ? await readInventory(options.inventory) : undefined;
  const reader = new FlowReader(options.flows, {
    ...(inventory ? { inventory } : {}),
    ...(options.stdin ? { stdin: options.stdin } : {}),
    skipInvalid: options.skipInvalid ?? false,
  });
  const engines = [engineFor(base.model, inventory), engineFor(head.model, inventory)] as const;
  try {
    const report = await diffPolicies({
      flows: reader,
      base: { ref: refInfo(baseTree), engine: engines[0], model: base.model },
      head: { ref: refInfo(headTree), engine: engines[1], model: head.model, selects: selectsEndpointOf(head.model) },
      ...(options.limits ? { limits: options.limits } : {}),
      inputSummary: () => ({
        files: reader.stats.files,
        lines: reader.stats.lines,
        flows: reader.stats.flows,
        not_flows: reader.stats.notFlows,
        unjudgeable: reader.stats.unjudgeable,
        invalid: reader.stats.invalid,
      }),
    });
    return {
      kind: 'report',
      report,
      headWarnings: head.diagnostics,
      baseErrors: base.diagnostics.filter((d) => d.severity === 'error'),
      skippedSamples: reader.stats.invalidSamples,
    };
  } finally {
    await Promise.all(engines.map((e) => e.close?.()));
  }
}

function engineFor(model: PolicyModel, inventory: Inventory | undefined): VerdictEngine {
  return referenceEngine(model, inventory ? { services: inventory.services } : {});
}

function refInfo(tree: PolicyTreeSnapshot): RefInfo {
  return { ref: tree.ref, commit: tree.commit };
}
