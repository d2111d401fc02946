/**
 * What went wrong in a store directory, said plainly: errno values of the filesystem store become StoreErrors that
 * name the directory and the reason (full, read-only, permission…), and directories are created one level at a time
 * so that the reported errno is the real one (recursive mkdir reports ENOENT on a read-only filesystem).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreError } from './errors.js';

/**
 * The StoreError for a filesystem failure in the store at `root` while doing `action` (e.g. "publishing").
 * StoreErrors and errors without an errno are returned unchanged.
 * @returns `store-no-space` (ENOSPC, EDQUOT), `store-read-only` (EROFS) or `store-io` (any other errno).
 */
export function storeFsError(err: unknown, root: string, action: string): unknown {
  if (err instanceof StoreError) return err;
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof errno !== 'string' || !/^E[A-Z0-9]+$/.test(errno)) return err;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    const detail = `the store's filesystem is full (${errno}) while ${action}; nothing was published`;
    return new StoreError('store-no-space', `store directory ${root}: ${detail}`, { cause: err, detail });
  }
  if (errno === 'EROFS') {
    return new StoreError('store-read-only', `store directory ${root} is on a read-only filesystem (EROFS)`,
      { cause: err, detail: `the store's filesystem is read-only (EROFS)` });
  }
  return new StoreError('store-io', `store directory ${root}: ${action} failed (${errno})`,
    { cause: err, detail: `${action} failed in the store's filesystem (${errno})` });
}

/**
 * Creates `dir` and any missing parents with one non-recursive mkdir per level, so a failure carries the errno of
 * the level that could not be created (EROFS, EACCES, ENOSPC, ENOTDIR) rather than the ENOENT of `mkdir -p`.
 * @throws the failing level's fs error.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const found = await stat(d).then((s) => s, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (found) break;
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err; // a concurrent publisher made it: fine
    });
  }
}
