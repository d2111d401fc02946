/**
 * Where the policies came from, for the manifest: the repository's origin URL, the commit, and the commit time
 * (a reproducible default for the creation time). Read with git when the directory is in a work tree.
 */
import { simpleGit } from 'simple-git';

/** Source facts; `null` fields were not found (not a git work tree, no origin). */
export interface SourceInfo {
  readonly repository: string | null;
  readonly commit: string | null;
  /** Commit time of HEAD. */
  readonly commitTime: Date | null;
  /** The work tree's top-level directory. */
  readonly topLevel: string | null;
}

const NOT_GIT: SourceInfo = { repository: null, commit: null, commitTime: null, topLevel: null };

/**
 * Reads the source facts of the git work tree containing `dir`. Never throws: a directory outside git gives nulls.
 */
export async function readSourceInfo(dir: string): Promise<SourceInfo> {
  try {
    const git = simpleGit({ baseDir: dir, timeout: { block: 10_000 } });
    if (!(await git.checkIsRepo())) return NOT_GIT;
    const topLevel = (await git.revparse(['--show-toplevel'])).trim() || null;
    const commit = (await git.revparse(['HEAD'])).trim();
    const time = Number((await git.raw(['show', '-s', '--format=%ct', 'HEAD'])).trim());
    let repository: string | null = null;
    try {
      repository = (await git.raw(['config', '--get', 'remote.origin.url'])).trim() || null;
    } catch {
      repository = null;
    }
    const commitTime = Number.isFinite(time) && time > 0 ? new Date(time * 1000) : null;
    return { repository: repository && stripCredentials(repository), commit, commitTime, topLevel };
  } catch {
    return NOT_GIT;
  }
}

/** Removes `user:password@` from a URL so credentials never land in a signed manifest. */
function stripCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}
