/**
 * `watch`: follow a branch and publish each new commit, in order, through `onPush`. The position is never kept in
 * memory: each round asks the store which commit its latest bundle was built from and publishes the first-parent
 * commits after it, so a restart neither loses nor repeats a publish, and a webhook publishing the same merge at
 * the same time makes one of the two a no-op.
 */
import type { SigningKey } from '../core/bundle/index.js';
import { commitsSince, openRepository } from '../git/index.js';
import { onPush, readLatest, type PushResult } from '../handlers/index.js';
import type { BundleStore } from '../stores/index.js';
import type { BranchSource } from './branch-source.js';

/** Options of {@link followBranch}. */
export interface FollowBranchOptions {
  readonly source: BranchSource;
  readonly store: BundleStore;
  readonly keys: readonly SigningKey[];
  /** Ends the loop (between commits, never halfway through a publish). */
  readonly signal: AbortSignal;
  /** Milliseconds between rounds (default 10 s). */
  readonly intervalMs?: number;
  /** Most commits published per round (default 50); the rest follow in the next round. */
  readonly maxPerRound?: number;
  /** One round, then return (`palisade watch --once`). */
  readonly once?: boolean;
  readonly log?: (line: string) => void;
  /** Each commit's outcome. */
  readonly onResult?: (result: PushResult) => void;
  /** A round that failed (the loop goes on with the next round). */
  readonly onError?: (err: unknown) => void;
}

/**
 * Runs until the signal aborts (or one round with `once`).
 * @throws the error of the round when `once` is set; otherwise errors go to `onError` and the loop goes on.
 */
export async function followBranch(options: FollowBranchOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const interval = options.intervalMs ?? 10_000;
  // Only for saying so once per new tip; the position itself always comes from the store.
  const seen = { tip: '' };
  for (;;) {
    if (options.signal.aborted) return;
    try {
      await round(options, log, seen);
    } catch (err) {
      if (options.once) throw err;
      options.onError?.(err);
    }
    if (options.once || options.signal.aborted) return;
    await sleep(interval, options.signal);
  }
}

async function round(options: FollowBranchOptions, log: (line: string) => void, seen: { tip: string }): Promise<void> {
  const tip = await options.source.tip();
  const newTip = tip !== seen.tip;
  seen.tip = tip;
  const descriptor = await options.store.latest();
  const latest = descriptor ? await readLatest(options.store, descriptor) : undefined;
  let commits: string[];
  if (!latest) commits = [tip]; // an empty store starts at the tip, not at the first commit ever made
  else if (latest.commit === tip) {
    if (newTip) log(`${tip.slice(0, 12)} is the tip and already published as serial ${latest.descriptor.serial}`);
    commits = [];
  }
  else {
    const repo = await openRepository(options.source.repoDir);
    const after = await commitsSince(repo, latest.commit, tip, options.maxPerRound ?? 50);
    // Not an ancestor (history rewritten, or a bundle from elsewhere): onPush decides about the tip alone.
    commits = after ?? [tip];
    if (after === null) log(`the store's latest commit ${latest.commit.slice(0, 12)} is not on ${options.source.description}; considering the tip only`);
  }
  for (const commit of commits) {
    if (options.signal.aborted) return;
    const result = await onPush({ repo: options.source.repoDir, commit, store: options.store, keys: options.keys, log });
    options.onResult?.(result);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
