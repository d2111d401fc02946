/**
 * Crash-safe file primitives for the filesystem store: temp file + fsync + rename/link, directory fsync, and the
 * sweep of temp files left by publishers that died.
 */
import { open, rename, link, unlink, readdir, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** A temp file name that records the writer's pid, so a later sweep knows whether its writer is gone. */
export function tempName(dir: string): string {
  return join(dir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `bytes` to a new file at `path` and fsyncs it. @throws the fs error (EEXIST when it exists). */
export async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory so that a rename or link in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Renames a finished temp file over `dest` (atomic replace) and makes the rename durable. */
export async function renameDurable(temp: string, dest: string, destDir: string): Promise<void> {
  await rename(temp, dest);
  await syncDir(destDir);
}

/**
 * Creates `dest` as a hard link to a finished temp file: atomic, and it fails with EEXIST when `dest` exists, so it
 * is a compare-and-swap on the name. Returns false on EEXIST.
 */
export async function linkExclusive(temp: string, dest: string): Promise<boolean> {
  try {
    await link(temp, dest);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes a file, ignoring ENOENT. */
export async function unlinkQuiet(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Creates directories (recursively) when missing. */
export async function ensureDirs(...dirs: string[]): Promise<void> {
  for (const d of dirs) await mkdir(d, { recursive: true });
}

/** True when a process with this pid exists (it may belong to another user). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes temp files in `dir` whose writer process no longer exists. Returns how many it removed. */
export async function sweepDeadTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await unlinkQuiet(join(dir, name));
    removed++;
  }
  return removed;
}
