/**
 * Crash-safe file primitives: temp file + fsync + rename/link, directory fsync, the sweep of temp files left by
 * publishers that died (the filesystem store), and the one writer for files a user names on the command line
 * (`compile --out`, `keygen --out`/`--root`): `writeFileAtomic` and `writeNewFilesTogether`.
 */
import { open, rename, link, unlink, readdir, mkdir, lstat, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../core/errors.js';

/** A temp file name that records the writer's pid, so a later sweep knows whether its writer is gone. */
export function tempName(dir: string): string {
  return join(dir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `bytes` to a new file at `path` and fsyncs it. The file has `mode` from its creation (O_EXCL, then fchmod
 * so the umask cannot change it) before any byte is in it.
 * @throws the fs error (EEXIST when it exists, ENOSPC when the disk is full); a file it created stays (the caller
 *   removes its temp file).
 */
export async function writeDurable(path: string, bytes: Uint8Array | string, mode = 0o644): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.chmod(mode);
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

/** One file to write: where, what, and the permission bits it has from creation (0o600 for a private key). */
export interface FileToWrite {
  readonly path: string;
  readonly bytes: Uint8Array | string;
  readonly mode: number;
}

/** What a name is, for the refusal message; null for what may be written over (a regular file). */
function unwritableKind(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The one-line I/O error for `path`, errno and its text, without Node's echo of the (temp) path. */
function writeError(path: string, err: unknown): InputError {
  if (err instanceof InputError) return err;
  const message = (err as Error).message.split(',')[0] ?? 'cannot write';
  return new InputError('io-write', `cannot write: ${message}`, { file: path, line: 0, col: 0 }, { cause: err });
}

/**
 * Refuses a target that is not a regular file or a new name: a device node, FIFO, socket or directory, or a
 * symlink to one (whatever it points to would be replaced or written into). With `overwrite` false, also refuses
 * any existing name, a dangling symlink included.
 * @throws InputError `io-not-regular-file`, `io-exists`, `io-write`.
 */
async function checkTarget(path: string, overwrite: boolean): Promise<void> {
  const pos = { file: path, line: 0, col: 0 };
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw writeError(path, err);
  }
  let kind = unwritableKind(st);
  if (st.isSymbolicLink()) {
    // The link itself is what a rename replaces; what it points to decides whether the user meant a file.
    kind = await stat(path).then(
      (target) => (unwritableKind(target) === null ? null : `a symlink to ${unwritableKind(target)}`),
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : 'a symlink that cannot be followed'),
    );
  }
  if (kind !== null) throw new InputError('io-not-regular-file', `is ${kind}, not a regular file: refusing to write over it`, pos);
  if (!overwrite) throw new InputError('io-exists', 'already exists: not overwritten', pos);
}

/** A fresh temp name beside `path` (same directory, so the rename stays atomic), hidden and marked as ours. */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `file` atomically: a temp file beside it (O_EXCL, `file.mode` from creation), fsync, rename over the name,
 * fsync the directory. Readers see the old content or the new, never a part; on any failure the temp file is
 * removed and the name is untouched. Only a regular file (or a new name) is written over; a symlink is replaced
 * itself, never written through.
 * @param overwrite false: refuse a name that exists (and create it with link(2), so a racing writer cannot be
 *   overwritten either).
 * @throws InputError `io-not-regular-file` (device, FIFO, socket, directory, symlink to one of them), `io-exists`,
 *   `io-write` (ENOSPC, EACCES, a missing directory…).
 */
export async function writeFileAtomic(file: FileToWrite, options: { overwrite: boolean }): Promise<void> {
  if (!options.overwrite) return writeNewFilesTogether([file]);
  await checkTarget(file.path, true);
  const temp = tempBeside(file.path);
  try {
    await writeDurable(temp, file.bytes, file.mode);
    await renameDurable(temp, file.path, dirname(file.path));
  } catch (err) {
    await unlinkQuiet(temp).catch(() => undefined);
    throw writeError(file.path, err);
  }
}

/**
 * Writes new files so that they appear together, complete, or not at all when anything fails: every file is
 * written to a temp file and fsynced first (a full disk fails here, before any name exists), then each is linked
 * to its name (which fails if the name exists), then the temp files go and the directories are fsynced. A failure
 * removes the names it created and every temp file. Existing names are never overwritten.
 * @throws InputError `io-exists`, `io-not-regular-file`, `io-write`.
 */
export async function writeNewFilesTogether(files: readonly FileToWrite[]): Promise<void> {
  for (const f of files) await checkTarget(f.path, false);
  const temps: string[] = [];
  const created: string[] = [];
  let current = files[0]?.path ?? '';
  try {
    for (const f of files) {
      current = f.path;
      const temp = tempBeside(f.path);
      temps.push(temp);
      await writeDurable(temp, f.bytes, f.mode);
    }
    for (const [i, f] of files.entries()) {
      current = f.path;
      if (!(await linkExclusive(temps[i]!, f.path))) {
        throw new InputError('io-exists', 'already exists: not overwritten', { file: f.path, line: 0, col: 0 });
      }
      created.push(f.path);
    }
    while (temps.length > 0) {
      await unlinkQuiet(temps[0]!);
      temps.shift();
    }
    for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
  } catch (err) {
    for (const path of [...created, ...temps]) await unlinkQuiet(path).catch(() => undefined);
    throw writeError(current, err);
  }
}
