/**
 * Reads the policy files of one commit straight from the object database: `rev-parse` resolves the ref, `ls-tree`
 * lists the files with their sizes, and `show` prints the blobs back to back, which the sizes split again. Nothing
 * is checked out, so a diff between two refs never disturbs the work tree, the index or HEAD.
 */
import { isPolicyFileName } from '../sources/index.js';
import type { GitRepository } from './repository.js';
import { GitReadError } from './errors.js';

/** One policy file as the loader takes it. `path` is relative to the repository's top level (`policies/web.yaml`). */
export interface TreeFile {
  readonly path: string;
  readonly text: string;
}

/** The files of a policy directory at one commit. */
export interface PolicyTreeSnapshot {
  /** The ref as the caller gave it. */
  readonly ref: string;
  /** The full commit id it resolved to. */
  readonly commit: string;
  /** Normalised subdirectory ('' for the whole repository). */
  readonly subdir: string;
  /** Sorted by path. */
  readonly files: readonly TreeFile[];
}

/** Bounds on what one read may load: a tree is untrusted input. */
export interface TreeReadLimits {
  /** Most policy files in the subdirectory. */
  readonly maxFiles: number;
  /** Largest single file, in bytes. */
  readonly maxFileBytes: number;
  /** Largest sum of file sizes, in bytes. */
  readonly maxTotalBytes: number;
}

/** The per-file bound of reading a directory from disk, and a total that keeps both trees of a diff in memory. */
export const DEFAULT_TREE_LIMITS: TreeReadLimits = {
  maxFiles: 100_000,
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

export interface ReadPolicyTreeOptions {
  readonly limits?: Partial<TreeReadLimits>;
  /** Which file names are policy files; default the same test as reading a directory (`.yaml`, `.yml`, `.json`). */
  readonly isPolicyFile?: (name: string) => boolean;
}

// Blobs are fetched in batches: few processes, and argv and output of each stay modest.
const BATCH_OBJECTS = 200;
const BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Reads every policy file (by name, regular files only: symlinks and submodules are skipped) under `subdir` at
 * `ref`.
 * @param subdir relative to the repository's top level; '' or '.' for the whole repository.
 * @returns the files sorted by path, with the resolved commit id.
 * @throws GitReadError `io-git-bad-ref` / `io-git-unknown-ref` when the ref is malformed or does not name a commit,
 *   `io-git-bad-subdir` / `io-git-missing-subdir` when the subdirectory is malformed or is not a directory at that
 *   commit, `io-git-too-many-files` / `io-git-file-too-large` / `io-git-tree-too-large` when a limit is exceeded,
 *   `io-git-not-utf8` for a file that is not UTF-8 text, `io-git-failed` when git itself fails.
 */
export async function readPolicyTree(
  repo: GitRepository,
  ref: string,
  subdir: string,
  options: ReadPolicyTreeOptions = {},
): Promise<PolicyTreeSnapshot> {
  const limits = { ...DEFAULT_TREE_LIMITS, ...options.limits };
  const isPolicyFile = options.isPolicyFile ?? isPolicyFileName;
  const commit = await resolveCommit(repo, ref);
  const dir = normaliseSubdir(subdir);
  if (dir !== '') await requireDirectory(repo, ref, commit, dir);

  const entries = (await listBlobs(repo, commit, dir)).filter((e) => isPolicyFile(e.path));
  if (entries.length > limits.maxFiles) {
    throw new GitReadError(
      'io-git-too-many-files',
      `${ref}:${dir || '.'} holds ${entries.length} policy files; the limit is ${limits.maxFiles}`,
    );
  }
  let total = 0;
  for (const e of entries) {
    if (e.size > limits.maxFileBytes) {
      throw new GitReadError(
        'io-git-file-too-large',
        `${ref}:${e.path} is ${e.size} bytes; the limit is ${limits.maxFileBytes}`,
      );
    }
    total += e.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new GitReadError(
      'io-git-tree-too-large',
      `${ref}:${dir || '.'} holds ${total} bytes of policy files; the limit is ${limits.maxTotalBytes}`,
    );
  }

  const texts = await readBlobs(repo, entries);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const files = entries.map((e) => {
    try {
      return { path: e.path, text: decoder.decode(texts.get(e.oid)) };
    } catch (err) {
      throw new GitReadError('io-git-not-utf8', `${ref}:${e.path} is not UTF-8 text`, { cause: err });
    }
  });
  return { ref, commit, subdir: dir, files };
}

interface BlobEntry {
  readonly path: string;
  readonly oid: string;
  readonly size: number;
}

/** `<ref>^{commit}` through rev-parse; the ref is checked first so that it can never be read as an option. */
/**
 * The full commit id `ref` names.
 * @throws GitReadError `io-git-bad-ref` for a malformed ref, `io-git-unknown-ref` when it names no commit.
 */
export async function resolveCommit(repo: GitRepository, ref: string): Promise<string> {
  if (ref === '' || ref.startsWith('-') || /[\x00-\x1f\x7f]/.test(ref)) {
    throw new GitReadError('io-git-bad-ref', `'${printable(ref)}' is not a valid Git ref`);
  }
  let out: string;
  try {
    out = await repo.git.raw(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]);
  } catch (err) {
    throw new GitReadError('io-git-unknown-ref', `${repo.dir}: unknown ref '${ref}' (no such commit)`, { cause: err });
  }
  const commit = out.trim();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) {
    throw new GitReadError('io-git-unknown-ref', `${repo.dir}: unknown ref '${ref}' (no such commit)`);
  }
  return commit;
}

/** Strips './' and trailing slashes; refuses absolute paths and '..' so the read stays inside the tree. */
function normaliseSubdir(subdir: string): string {
  const parts = subdir.split('/').filter((p) => p !== '' && p !== '.');
  if (subdir.startsWith('/') || parts.includes('..') || /[\x00-\x1f\x7f]/.test(subdir)) {
    throw new GitReadError(
      'io-git-bad-subdir',
      `'${printable(subdir)}' is not a directory path relative to the repository root`,
    );
  }
  return parts.join('/');
}

async function requireDirectory(repo: GitRepository, ref: string, commit: string, dir: string): Promise<void> {
  let type: string;
  try {
    type = (await repo.git.raw(['cat-file', '-t', `${commit}:${dir}`])).trim();
  } catch (err) {
    throw new GitReadError('io-git-missing-subdir', `${ref}: no directory '${dir}' in ${commit.slice(0, 12)}`, {
      cause: err,
    });
  }
  if (type !== 'tree') {
    throw new GitReadError('io-git-missing-subdir', `${ref}: '${dir}' is a ${type || 'missing object'}, not a directory`);
  }
}

/** Regular files under `dir`, from `ls-tree -r -z -l` (NUL-separated, so paths are never quoted). */
async function listBlobs(repo: GitRepository, commit: string, dir: string): Promise<BlobEntry[]> {
  const args = ['ls-tree', '-r', '-z', '-l', '--full-tree', commit];
  if (dir !== '') args.push('--', dir);
  let out: string;
  try {
    out = await repo.git.raw(args);
  } catch (err) {
    throw new GitReadError('io-git-failed', `${repo.dir}: git ls-tree failed: ${messageOf(err)}`, { cause: err });
  }
  const entries: BlobEntry[] = [];
  for (const record of out.split('\0')) {
    if (record === '') continue;
    // "<mode> <type> <oid> <size padded>\t<path>"
    const m = /^(\d{6}) (\w+) ([0-9a-f]+) +(\d+|-)\t(.*)$/s.exec(record);
    if (!m) throw new GitReadError('io-git-failed', `${repo.dir}: unexpected git ls-tree output '${printable(record)}'`);
    const [, mode, type, oid, size, path] = m as unknown as [string, string, string, string, string, string];
    if (type !== 'blob' || (mode !== '100644' && mode !== '100755')) continue;
    entries.push({ path, oid, size: Number(size) });
  }
  return entries;
}

/** Contents by object id, read with `git show <oid>…` in batches and split by the sizes ls-tree reported. */
async function readBlobs(repo: GitRepository, entries: readonly BlobEntry[]): Promise<Map<string, Uint8Array>> {
  const unique = new Map<string, number>();
  for (const e of entries) unique.set(e.oid, e.size);
  const out = new Map<string, Uint8Array>();
  const pending = [...unique];
  while (pending.length > 0) {
    const batch: [string, number][] = [];
    let bytes = 0;
    while (pending.length > 0 && batch.length < BATCH_OBJECTS && (batch.length === 0 || bytes + pending[0]![1] <= BATCH_BYTES)) {
      const next = pending.shift()!;
      batch.push(next);
      bytes += next[1];
    }
    let buf: Buffer;
    try {
      buf = await repo.git.showBuffer(['--no-textconv', ...batch.map(([oid]) => oid)]);
    } catch (err) {
      throw new GitReadError('io-git-failed', `${repo.dir}: git show failed: ${messageOf(err)}`, { cause: err });
    }
    if (buf.length !== bytes) {
      throw new GitReadError('io-git-failed', `${repo.dir}: git show returned ${buf.length} bytes, expected ${bytes}`);
    }
    let offset = 0;
    for (const [oid, size] of batch) {
      out.set(oid, buf.subarray(offset, offset + size));
      offset += size;
    }
  }
  return out;
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim().split('\n')[0] ?? '';
}

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
