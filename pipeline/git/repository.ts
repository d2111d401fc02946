/**
 * Opening a Git repository for reading through simple-git. Reading never touches the work tree or the index: every
 * command used here (`rev-parse`, `ls-tree`, `cat-file`, `show` of blobs) only reads the object database.
 */
import { stat } from 'node:fs/promises';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitReadError } from './errors.js';

/** An opened repository: the simple-git handle runs at the top level (or the git dir of a bare repository). */
export interface GitRepository {
  /** The directory given by the caller, for messages. */
  readonly dir: string;
  readonly git: SimpleGit;
}

/** Upper bound for one git command, in milliseconds: a hung git (a lock, a network filesystem) must not hang us. */
const GIT_TIMEOUT_MS = 60_000;

/**
 * Opens `dir` (a work tree, any directory inside one, or a bare repository) for reading.
 * @throws GitReadError `io-git-not-a-repo` when `dir` does not exist or is not inside a Git repository.
 */
export async function openRepository(dir: string): Promise<GitRepository> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new GitReadError('io-git-not-a-repo', `${dir}: no such directory`);
  const probe = simpleGit({ baseDir: dir, timeout: { block: GIT_TIMEOUT_MS } });
  let top: string;
  try {
    // Bare repositories have no top level; their git dir is where commands run.
    const bare = (await probe.raw(['rev-parse', '--is-bare-repository'])).trim() === 'true';
    top = bare ? dir : (await probe.raw(['rev-parse', '--show-toplevel'])).trim();
  } catch (err) {
    throw new GitReadError('io-git-not-a-repo', `${dir}: not a Git repository`, { cause: err });
  }
  return { dir, git: simpleGit({ baseDir: top, timeout: { block: GIT_TIMEOUT_MS } }) };
}
