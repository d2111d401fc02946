/**
 * Where `watch` reads a branch from: a local repository as it is, or a remote (a git://, https:// or file:// URL)
 * mirrored into a bare clone that each poll fetches the branch into. Credentials in a URL never reach a message.
 */
import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { openRepository, resolveCommit, type GitRepository } from '../git/index.js';
import { WatchError } from './errors.js';

/** A branch to follow. */
export interface BranchSource {
  /** The repository handlers read (the local one, or the mirror). */
  readonly repoDir: string;
  /** Brings the branch up to date (a fetch for a remote) and returns its tip commit. */
  tip(): Promise<string>;
  /** For messages. */
  readonly description: string;
}

const FETCH_TIMEOUT_MS = 120_000;

/**
 * Opens `source` (a directory or a URL) for following `branch`.
 * @param cacheDir where mirrors of remote repositories live (default ~/.cache/palisade/watch).
 * @throws WatchError `io-watch-bad-branch`, `io-watch-source` (the clone failed).
 */
export async function openBranchSource(source: string, branch: string, cacheDir?: string): Promise<BranchSource> {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(branch) || branch.startsWith('-') || branch.includes('..') || branch.endsWith('/') || branch.endsWith('.lock')) {
    throw new WatchError('io-watch-bad-branch', `'${branch}' is not a branch name`);
  }
  const ref = `refs/heads/${branch}`;
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  if (!isUrl) {
    const repo = await openRepository(source);
    return { repoDir: source, description: `${source} ${branch}`, tip: () => resolveCommit(repo, ref) };
  }
  const shown = source.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
  const base = cacheDir ?? path.join(homedir(), '.cache', 'palisade', 'watch');
  const dir = path.join(base, createHash('sha256').update(source).digest('hex').slice(0, 16));
  if (!(await stat(path.join(dir, 'HEAD')).catch(() => undefined))) {
    await mkdir(base, { recursive: true });
    try {
      await simpleGit({ timeout: { block: FETCH_TIMEOUT_MS } }).raw(['clone', '--bare', '--quiet', '--no-tags', '--single-branch', '--branch', branch, '--', source, dir]);
    } catch (err) {
      throw new WatchError('io-watch-source', `cannot clone ${shown} (${branch}): ${firstLine(err, source)}`, { cause: err });
    }
  }
  let repo: GitRepository | undefined;
  return {
    repoDir: dir,
    description: `${shown} ${branch}`,
    async tip() {
      repo ??= await openRepository(dir);
      try {
        await repo.git.raw(['fetch', '--quiet', '--no-tags', '--', source, `+${ref}:${ref}`]);
      } catch (err) {
        throw new WatchError('io-watch-source', `cannot fetch ${shown} (${branch}): ${firstLine(err, source)}`, { cause: err });
      }
      return resolveCommit(repo, ref);
    },
  };
}

/** The first line of a git error, with the URL (which may hold credentials) replaced. */
function firstLine(err: unknown, url: string): string {
  return ((err as Error).message ?? String(err)).split('\n')[0]!.split(url).join('<url>').slice(0, 300);
}
