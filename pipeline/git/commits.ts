/**
 * What the handlers ask Git about commits beyond policy trees: one file at a commit, the files a pull request
 * changes, ancestry, the first-parent history of a branch, and a temporary checkout of one commit (a detached
 * worktree, removed afterwards) for stages that read a directory. All bounded; none touches the caller's work tree.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { GitReadError } from './errors.js';
import { resolveCommit } from './read-policy-tree.js';
import type { GitRepository } from './repository.js';

/**
 * The text of `file` (relative to the repository root) at `commit`, or null when the commit has no such file.
 * @throws GitReadError `io-git-file-too-large` above `maxBytes`, `io-git-not-utf8` when it is not UTF-8 text.
 */
export async function readFileAtCommit(repo: GitRepository, commit: string, file: string, maxBytes: number): Promise<string | null> {
  const commitId = await resolveCommit(repo, commit);
  let size: number;
  try {
    const line = (await repo.git.raw(['ls-tree', '-l', commitId, '--', file])).trim();
    const m = /^\d+ blob [0-9a-f]+\s+(\d+)\t/.exec(line);
    if (!m) return null;
    size = Number(m[1]);
  } catch {
    return null;
  }
  if (size > maxBytes) throw new GitReadError('io-git-file-too-large', `${file} at ${commitId.slice(0, 12)} is ${size} bytes, above ${maxBytes}`);
  const text = await repo.git.show([`${commitId}:${file}`]);
  if (text.includes('\uFFFD')) throw new GitReadError('io-git-not-utf8', `${file} at ${commitId.slice(0, 12)} is not UTF-8 text`);
  return text;
}

/**
 * Copies `file` at `commit` into `dest` by streaming the blob (recorded flows can be large).
 * @returns false when the commit has no such file.
 */
export async function exportFileAtCommit(repo: GitRepository, commit: string, file: string, dest: string): Promise<boolean> {
  const commitId = await resolveCommit(repo, commit);
  const listed = (await repo.git.raw(['ls-tree', commitId, '--', file])).trim();
  if (!/^\d+ blob [0-9a-f]+\t/.test(listed)) return false;
  const top = (await repo.git.revparse(['--absolute-git-dir'])).trim();
  const child = spawn('git', ['--git-dir', top, 'cat-file', 'blob', `${commitId}:${file}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await pipeline(child.stdout, createWriteStream(dest, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw new GitReadError('io-git-failed', `git cat-file ${file} at ${commitId.slice(0, 12)} failed (exit ${code})`);
  return true;
}

/** Most changed paths listed for one pull request. */
export const MAX_CHANGED_FILES = 10_000;

/**
 * The paths a pull request from `base` to `head` changes: those changed on head since their merge base.
 * @returns sorted paths, at most {@link MAX_CHANGED_FILES} (then `truncated`).
 */
export async function changedFiles(repo: GitRepository, base: string, head: string): Promise<{ files: string[]; truncated: boolean }> {
  const [b, h] = [await resolveCommit(repo, base), await resolveCommit(repo, head)];
  const out = await repo.git.raw(['diff', '--name-only', '--no-renames', '-z', `${b}...${h}`]);
  const files = out.split('\0').filter((f) => f !== '').sort();
  return { files: files.slice(0, MAX_CHANGED_FILES), truncated: files.length > MAX_CHANGED_FILES };
}

/** Whether `ancestor` is an ancestor of (or equal to) `descendant`; false when either is unknown here. */
export async function isAncestor(repo: GitRepository, ancestor: string, descendant: string): Promise<boolean> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ancestor) || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(descendant)) return false;
  try {
    // `merge-base --is-ancestor` answers by exit status alone, which simple-git does not surface: compare the base.
    return (await repo.git.raw(['merge-base', ancestor, descendant])).trim() === ancestor;
  } catch {
    return false;
  }
}

/**
 * The first-parent commits after `since` up to `tip`, oldest first (the merges of a branch, in order).
 * @returns [] when `since` is the tip; null when `since` is not an ancestor of the tip (history was rewritten).
 */
export async function commitsSince(repo: GitRepository, since: string, tip: string, limit: number): Promise<string[] | null> {
  if (!(await isAncestor(repo, since, tip))) return null;
  const out = await repo.git.raw(['rev-list', '--first-parent', '--reverse', `--max-count=${limit}`, `${since}..${tip}`]);
  return out.split('\n').filter((l) => l !== '');
}

/** A checkout of one commit; `remove` deletes it and its worktree record. */
export interface CommitCheckout {
  readonly dir: string;
  readonly commit: string;
  remove(): Promise<void>;
}

/**
 * Checks `commit` out into a fresh temporary directory as a detached worktree of `repo` (bare or not); the caller's
 * own work tree, index and HEAD are untouched.
 * @throws GitReadError `io-git-unknown-ref`, `io-git-failed`.
 */
export async function checkoutCommit(repo: GitRepository, commit: string): Promise<CommitCheckout> {
  const commitId = await resolveCommit(repo, commit);
  const parent = await mkdtemp(path.join(tmpdir(), 'palisade-commit-'));
  const dir = path.join(parent, 'tree');
  try {
    await repo.git.raw(['worktree', 'add', '--detach', '--quiet', dir, commitId]);
  } catch (err) {
    await rm(parent, { recursive: true, force: true });
    throw new GitReadError('io-git-failed', `${repo.dir}: cannot check out ${commitId.slice(0, 12)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  return {
    dir,
    commit: commitId,
    async remove() {
      await repo.git.raw(['worktree', 'remove', '--force', dir]).catch(() => undefined);
      await rm(parent, { recursive: true, force: true });
      await repo.git.raw(['worktree', 'prune']).catch(() => undefined);
    },
  };
}

/**
 * Makes sure the repository has these commits: when one is missing, fetches the branches and pull-request heads of
 * `origin` once.
 * @throws GitReadError `io-git-unknown-ref` when a commit is still missing after the fetch.
 */
export async function ensureCommits(repo: GitRepository, commits: readonly string[]): Promise<void> {
  const missing = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const c of commits) {
      try {
        await resolveCommit(repo, c);
      } catch {
        out.push(c);
      }
    }
    return out;
  };
  if ((await missing()).length === 0) return;
  const remotes = (await repo.git.raw(['remote'])).split('\n').map((r) => r.trim());
  if (remotes.includes('origin')) {
    await repo.git
      .raw(['fetch', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/pull/*/head:refs/remotes/origin/pull/*'])
      .catch(() => undefined);
  }
  const still = await missing();
  if (still.length > 0) throw new GitReadError('io-git-unknown-ref', `${repo.dir}: commit${still.length === 1 ? '' : 's'} ${still.map((c) => c.slice(0, 12)).join(', ')} not found, even after fetching origin`);
}
