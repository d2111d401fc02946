/**
 * Reading policy files from disk: one file, or a directory walked recursively for `.yaml`, `.yml` and `.json`.
 * Bounded (file count, per-file size, total bytes), follows symbolic links but detects loops, reports every
 * unreadable path as a diagnostic instead of failing, and returns files in a deterministic (sorted) order.
 * It uses synchronous system calls on purpose: policy trees are many small files, and a thread-pool round trip per
 * open/stat/read/close made a 100,000-file tree several times slower. Callers get a promise all the same.
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync, constants, type Stats } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../core/load/text-checks.js';
import type { PolicyFile } from '../core/load/policy-file.js';
import { errorAt, filePos, type Diagnostic } from '../core/validate/diagnostic.js';

export interface ReadOptions {
  /** Most files read from one root. Default 100,000. */
  readonly maxFiles?: number;
  /** Largest file read, in bytes; larger ones are reported without being read. Default 8 MiB. */
  readonly maxFileBytes?: number;
  /** Most bytes read in total. Default 1 GiB. */
  readonly maxTotalBytes?: number;
  /** Paths are printed relative to this directory when under it. Default: the current directory. */
  readonly displayBase?: string;
}

export interface ReadResult {
  readonly files: PolicyFile[];
  /** I/O problems; all have codes starting with `io-` or `file-`. */
  readonly diagnostics: Diagnostic[];
}

const POLICY_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** True for names Palisade reads from a directory. */
export function isPolicyFileName(name: string): boolean {
  return POLICY_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** How a path is printed: relative to `base` when inside it, else absolute. */
export function displayPath(abs: string, base: string): string {
  const rel = path.relative(base, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

function describeErrno(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory (or a dangling symbolic link)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links (a symlink loop)';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'not a directory';
    default:
      return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
  }
}

/**
 * Reads a policy file or a directory tree. Resolves with the files read and the I/O diagnostics; rejects never.
 * A root that does not exist is an `io-not-found` error.
 */
export async function readPolicyFiles(root: string, options: ReadOptions = {}): Promise<ReadResult> {
  return readPolicyFilesSync(root, options);
}

/** The synchronous form of readPolicyFiles (same result). */
export function readPolicyFilesSync(root: string, options: ReadOptions = {}): ReadResult {
  const maxFiles = options.maxFiles ?? 100_000;
  const maxFileBytes = options.maxFileBytes ?? 8 * 1024 * 1024;
  const maxTotalBytes = options.maxTotalBytes ?? 1024 * 1024 * 1024;
  const base = path.resolve(options.displayBase ?? process.cwd());
  const diagnostics: Diagnostic[] = [];
  const abs = path.resolve(root);
  const shown = (p: string): string => displayPath(p, base);

  let rootStat: Stats;
  try {
    rootStat = statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'io-not-found' : 'io-unreadable';
    return { files: [], diagnostics: [errorAt(code, `cannot read ${shown(abs)}: ${describeErrno(err)}`, filePos(shown(abs)))] };
  }

  // Collect candidate files first (sorted walk), then read them with bounded concurrency.
  const candidates: string[] = [];
  let tooMany = false;
  if (rootStat.isDirectory()) {
    const visited = new Set<string>();
    const walk = (dir: string, chain: readonly string[]): void => {
      if (tooMany) return;
      let real: string;
      try {
        real = realpathSync(dir);
      } catch (err) {
        diagnostics.push(errorAt('io-unreadable', `cannot read directory: ${describeErrno(err)}`, filePos(shown(dir))));
        return;
      }
      if (chain.includes(real)) {
        diagnostics.push(errorAt('io-symlink-loop', `symbolic link loop: ${shown(dir)} leads back to ${shown(real)}`, filePos(shown(dir))));
        return;
      }
      // A directory reached twice through different links is read once.
      if (visited.has(real)) return;
      visited.add(real);
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        diagnostics.push(errorAt('io-unreadable', `cannot read directory: ${describeErrno(err)}`, filePos(shown(dir))));
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (tooMany) return;
        if (entry.name.startsWith('.')) continue; // .git and other hidden trees are not policy
        const p = path.join(dir, entry.name);
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink() || (!isDir && !isFile)) {
          let st: Stats;
          try {
            st = statSync(p);
          } catch (err) {
            if (isPolicyFileName(entry.name) || (err as NodeJS.ErrnoException).code === 'ELOOP') {
              const code = (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'io-symlink-loop' : 'io-unreadable';
              diagnostics.push(errorAt(code, `cannot read: ${describeErrno(err)}`, filePos(shown(p))));
            }
            continue;
          }
          isDir = st.isDirectory();
          isFile = st.isFile();
          if (!isDir && !isFile) {
            if (isPolicyFileName(entry.name)) diagnostics.push(errorAt('io-not-regular', 'not a regular file (device, FIFO or socket): not read', filePos(shown(p))));
            continue;
          }
        }
        if (isDir) {
          walk(p, [...chain, real]);
        } else if (isFile && isPolicyFileName(entry.name)) {
          if (candidates.length >= maxFiles) {
            tooMany = true;
            diagnostics.push(errorAt('io-too-many-files', `more than ${maxFiles} policy files under ${shown(abs)}; stopped reading`, filePos(shown(p))));
            return;
          }
          candidates.push(p);
        }
      }
    };
    walk(abs, []);
  } else if (rootStat.isFile()) {
    candidates.push(abs);
  } else {
    diagnostics.push(errorAt('io-not-regular', 'not a regular file or directory: not read', filePos(shown(abs))));
  }

  const files: PolicyFile[] = [];
  let total = 0;
  for (const c of candidates) {
    const text = readBounded(c, maxFileBytes, shown(c), diagnostics);
    if (text === undefined) continue;
    total += text.bytes;
    if (total > maxTotalBytes) {
      diagnostics.push(errorAt('io-total-too-large', `policy files add up to more than ${formatBytes(maxTotalBytes)}; stopped reading`, filePos(shown(c))));
      break;
    }
    files.push({ path: shown(c), text: text.text });
  }
  return { files, diagnostics };
}

/** Reads at most `max` bytes (+1 to detect excess) from a regular file; reports problems instead of throwing. */
function readBounded(abs: string, max: number, shownPath: string, diagnostics: Diagnostic[]): { text: string; bytes: number } | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in after the directory scan must not block the open.
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    diagnostics.push(errorAt('io-unreadable', `cannot read: ${describeErrno(err)}`, filePos(shownPath)));
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      diagnostics.push(errorAt('io-not-regular', 'not a regular file: not read', filePos(shownPath)));
      return undefined;
    }
    if (st.size > max) {
      diagnostics.push(errorAt('file-too-large', `file is ${(st.size / (1024 * 1024)).toFixed(1)} MiB, more than the limit of ${formatBytes(max)}; not read`, filePos(shownPath)));
      return undefined;
    }
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    while (n < buf.length) {
      const bytesRead = readSync(fd, buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > max) {
      diagnostics.push(errorAt('file-too-large', `file grew beyond the limit of ${formatBytes(max)} while being read; not read`, filePos(shownPath)));
      return undefined;
    }
    return { text: buf.subarray(0, n).toString('utf8'), bytes: n };
  } catch (err) {
    diagnostics.push(errorAt('io-unreadable', `cannot read: ${describeErrno(err)}`, filePos(shownPath)));
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Closing a read-only descriptor cannot lose data; nothing to report.
    }
  }
}
