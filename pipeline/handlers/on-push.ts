/**
 * `onPush(repo, commit)`: a commit landed on the main branch; compile it, sign it and publish it, once. Inputs are
 * gathered (the commit checked out into a temporary worktree, palisade.yaml read at that commit) and then the
 * publish stage runs with the commit as its idempotency key: a commit already published, or older than the one
 * published, is a no-op that says so. The same function runs from `palisade publish`-like CLI use, the webhook,
 * the Action and `palisade watch`; everything it needs to restart lives in Git and the store.
 */
import path from 'node:path';
import type { SigningKey } from '../core/bundle/index.js';
import { buildBundleFromDir, DEFAULT_MIN_VALIDITY_MS, readSourceInfo } from '../bundle-build/index.js';
import { checkoutCommit, isAncestor, openRepository, resolveCommit } from '../git/index.js';
import type { BundleStore } from '../stores/index.js';
import { gateConfigAt } from './read-gate-config.js';
import { publishBundle, type PublishOutcome } from './publish-bundle.js';

/** Inputs of {@link onPush}. */
export interface PushEvent {
  /** A local repository (work tree or bare) that has the commit. */
  readonly repo: string;
  /** The pushed commit (id or ref). */
  readonly commit: string;
  readonly store: BundleStore;
  readonly keys: readonly SigningKey[];
  /** The repository name recorded in the manifest; default the repository's origin URL (credentials stripped). */
  readonly repository?: string;
  /** Overrides of palisade.yaml's paths (relative to the repository root). */
  readonly policies?: string;
  readonly flows?: readonly string[];
  readonly inventory?: readonly string[];
  readonly lifetimeMs?: number;
  /** Refuse a bundle valid for less than this when published (default 3 days, as `palisade publish`). */
  readonly minValidityMs?: number;
  readonly bpfObjectPath?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

/** What {@link onPush} did, with the commit id it resolved. */
export type PushResult = PublishOutcome & { readonly commit: string };

/**
 * Publishes the policies of one commit.
 * @throws GateConfigError when palisade.yaml at the commit is invalid; PolicyErrorsError when the policies have
 *   errors (nothing is published); BundleExpiryError when the bundle would expire within `minValidityMs`; GitReadError for an unknown commit; HandlerError `publish-conflict`; StoreError.
 */
export async function onPush(event: PushEvent): Promise<PushResult> {
  const repo = await openRepository(event.repo);
  const commit = await resolveCommit(repo, event.commit);
  const config = await gateConfigAt(repo, commit);
  let checkout: Awaited<ReturnType<typeof checkoutCommit>> | undefined;
  try {
    const outcome = await publishBundle({
      store: event.store,
      commit,
      isAncestor: (a, d) => isAncestor(repo, a, d),
      ...(event.log ? { log: event.log } : {}),
      build: async ({ serial, parentDigest }) => {
        checkout ??= await checkoutCommit(repo, commit);
        const inTree = (p: string): string => path.join(checkout!.dir, p);
        const source = await readSourceInfo(event.repo);
        return buildBundleFromDir({
          policiesDir: inTree(event.policies ?? config.policies),
          flowFiles: (event.flows ?? config.flows).map(inTree),
          inventoryFiles: (event.inventory ?? config.inventory).map(inTree),
          keys: event.keys,
          serial,
          parentDigest,
          source: { repository: event.repository ?? source.repository ?? 'unknown', commit },
          env: event.env ?? {},
          minValidityMs: event.minValidityMs ?? DEFAULT_MIN_VALIDITY_MS,
          ...(event.lifetimeMs !== undefined ? { lifetimeMs: event.lifetimeMs } : {}),
          ...(event.bpfObjectPath !== undefined ? { bpfObjectPath: event.bpfObjectPath } : {}),
        });
      },
    });
    return { ...outcome, commit };
  } finally {
    await checkout?.remove();
  }
}
