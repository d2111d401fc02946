/**
 * `onPullRequest(repo, base, head)`: validate the head policies and diff them against the base on recorded traffic,
 * then judge the result under the repository's gate. The gate configuration and the recorded flows are read at the
 * BASE commit: a pull request cannot loosen its own gate or swap the traffic it is judged against. Inputs are
 * gathered here (Git, flow files); the verdict is one call to the pure {@link judgePullRequest}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffGitRefs } from '../diff/index.js';
import { changedFiles, exportFileAtCommit, openRepository, resolveCommit, type GitRepository, type TreeReadLimits } from '../git/index.js';
import type { DiffLimits } from '../diff/index.js';
import { GateConfigError } from './errors.js';
import { DEFAULT_GATE_CONFIG, type GateConfig } from './gate-config.js';
import { judgePullRequest, type PullRequestFindings, type PullRequestResult } from './pull-request-check.js';
import { gateConfigAt } from './read-gate-config.js';

/** Inputs of {@link onPullRequest}. */
export interface PullRequestEvent {
  /** A local repository (work tree or bare) that has both commits. */
  readonly repo: string;
  readonly base: string;
  readonly head: string;
  /** The pull request's labels (for label overrides). */
  readonly labels?: readonly string[];
  /** Recorded flow files on disk; default palisade.yaml's `flows`, read from the base commit. */
  readonly flows?: readonly string[];
  readonly inventory?: readonly string[];
  /** Recorded flow and inventory paths in the repository, read at the base commit (instead of palisade.yaml's). */
  readonly repoFlows?: readonly string[];
  readonly repoInventory?: readonly string[];
  /** Policy directory relative to the repository root; default palisade.yaml's `policies`. */
  readonly policies?: string;
  readonly skipInvalid?: boolean;
  readonly treeLimits?: Partial<TreeReadLimits>;
  readonly limits?: Partial<DiffLimits>;
}

/** The result plus the commits it is about. */
export interface PullRequestOutcome extends PullRequestResult {
  readonly baseCommit: string;
  readonly headCommit: string;
}

/**
 * Checks one pull request.
 * @throws GitReadError (repository, refs, sizes), FlowIoError / FlowInputError / InventoryError (recorded input),
 *   DiffError. Configuration and policy errors are not thrown: they are a failing result.
 */
export async function onPullRequest(event: PullRequestEvent): Promise<PullRequestOutcome> {
  const repo = await openRepository(event.repo);
  const baseCommit = await resolveCommit(repo, event.base);
  const headCommit = await resolveCommit(repo, event.head);
  const labels = event.labels ?? [];
  const changed = (await changedFiles(repo, baseCommit, headCommit)).files;
  let config: GateConfig;
  try {
    config = await gateConfigAt(repo, baseCommit);
  } catch (err) {
    if (!(err instanceof GateConfigError)) throw err;
    const findings: PullRequestFindings = { kind: 'config-invalid', diagnostics: err.diagnostics };
    return { ...judgePullRequest({ config: DEFAULT_GATE_CONFIG, findings, labels, changedFiles: changed }), baseCommit, headCommit };
  }

  const flows = await recordedInputs(repo, baseCommit, config, event);
  try {
    const result = await diffGitRefs({
      repo: event.repo,
      base: baseCommit,
      head: headCommit,
      policies: event.policies ?? config.policies,
      flows: flows.flows,
      inventory: flows.inventory,
      ...(event.skipInvalid !== undefined ? { skipInvalid: event.skipInvalid } : {}),
      ...(event.treeLimits ? { treeLimits: event.treeLimits } : {}),
      ...(event.limits ? { limits: event.limits } : {}),
    });
    const findings: PullRequestFindings =
      result.kind === 'head-invalid'
        ? { kind: 'head-invalid', diagnostics: result.diagnostics }
        : { kind: 'report', report: result.report, headWarnings: result.headWarnings, baseErrors: result.baseErrors };
    return {
      ...judgePullRequest({ config, findings, labels, changedFiles: changed, flowsDescription: flows.description }),
      baseCommit,
      headCommit,
    };
  } finally {
    await flows.cleanup();
  }
}

/** The flow and inventory files to read: the caller's, or palisade.yaml's exported from the base commit. */
async function recordedInputs(
  repo: GitRepository,
  baseCommit: string,
  config: GateConfig,
  event: PullRequestEvent,
): Promise<{ flows: string[]; inventory: string[]; description: string; cleanup(): Promise<void> }> {
  if (event.flows !== undefined) {
    return { flows: [...event.flows], inventory: [...(event.inventory ?? [])], description: `${event.flows.length} file(s) given to the check`, cleanup: async () => {} };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'palisade-pr-flows-'));
  try {
    const exportAll = async (files: readonly string[], prefix: string): Promise<string[]> => {
      const out: string[] = [];
      for (const [i, f] of files.entries()) {
        // Keep the extension: `.gz` recordings are read compressed.
        const dest = path.join(dir, `${prefix}-${i}-${path.basename(f)}`);
        if (await exportFileAtCommit(repo, baseCommit, f, dest)) out.push(dest);
      }
      return out;
    };
    const flowPaths = event.repoFlows ?? config.flows;
    const flows = await exportAll(flowPaths, 'flows');
    const inventory = event.inventory ? [...event.inventory] : await exportAll(event.repoInventory ?? config.inventory, 'inventory');
    const description = flowPaths.length === 0 ? 'none configured (palisade.yaml `flows`)' : `${flowPaths.join(', ')} at ${baseCommit.slice(0, 12)}`;
    return { flows, inventory, description, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
