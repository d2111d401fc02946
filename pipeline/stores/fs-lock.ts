/**
 * An exclusive flock(2) lock on a lock file, shared by every process that opens the same directory (agents, the
 * controller, `palisade serve`). The kernel drops the lock when its holder's file is closed, which includes the
 * holder dying at any point, so a crashed holder never leaves it stale; a live holder that stalls keeps it, and
 * waiters give up after a deadline rather than break it. Node has no flock of its own: it is called through koffi
 * (already a dependency for libbpf), loaded on first use only.
 *
 * Waiting polls with LOCK_NB instead of blocking a libuv worker thread in flock: blocked workers could fill the
 * thread pool that the holder (in this process) needs for its own file I/O.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** How long a writer waits for a lock held by another before giving up. */
export const LOCK_WAIT_MS = 30_000;
const FIRST_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 20;

type FlockFn = (fd: number, operation: number) => number;
let flockFn: { call: FlockFn; errno: () => number } | undefined;

/** flock from the C library already in this process (dlopen(NULL)), so no library name is assumed. */
async function loadFlock(): Promise<{ call: FlockFn; errno: () => number }> {
  if (flockFn) return flockFn;
  try {
    const koffi = (await import('koffi')).default;
    const self = koffi.load(null);
    flockFn = { call: self.func('int flock(int fd, int operation)') as FlockFn, errno: () => koffi.errno() };
    return flockFn;
  } catch (err) {
    throw new LockError('unavailable', `flock(2) cannot be called on this platform: ${(err as Error).message}`);
  }
}

/**
 * Why a lock was not taken: the file is not a regular file, the wait ran past its deadline or was aborted, or
 * flock cannot be called here.
 */
export class LockError extends Error {
  constructor(readonly reason: 'not-regular-file' | 'timeout' | 'aborted' | 'unavailable', message: string) {
    super(message);
  }
}

/** What a waiter can be told and bounded by. */
export interface LockOptions {
  readonly signal?: AbortSignal;
  /** Longest wait; {@link LOCK_WAIT_MS} when absent. */
  readonly waitMs?: number;
  /** Called once when the lock is found held by another (tests use it to know a writer is waiting). */
  readonly onBusy?: () => void;
}

/**
 * Runs `fn` holding the exclusive lock on `path` (created empty when missing, never replaced or followed when it
 * is a symlink), and releases it however `fn` ends.
 * @throws LockError when `path` is not a regular file, or the lock was not free within the wait; the fs error when
 *   the file cannot be opened or flock fails otherwise.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const flock = await loadFlock();
  // O_NONBLOCK: opening a FIFO planted at the name must not hang; O_NOFOLLOW: a symlink is refused, not followed.
  const fh = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK, 0o644).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP' || err.code === 'EISDIR') throw new LockError('not-regular-file', `${path} is not a regular file (${err.code})`);
    throw err;
  });
  try {
    if (!(await fh.stat()).isFile()) throw new LockError('not-regular-file', `${path} is not a regular file`);
    await acquire(fh, flock, path, options);
    try {
      return await fn();
    } finally {
      flock.call(fh.fd, LOCK_UN);
    }
  } finally {
    await fh.close();
  }
}

async function acquire(fh: FileHandle, flock: { call: FlockFn; errno: () => number }, path: string, options: LockOptions): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? LOCK_WAIT_MS);
  let backoff = FIRST_BACKOFF_MS;
  let told = false;
  for (;;) {
    if (flock.call(fh.fd, LOCK_EX | LOCK_NB) === 0) return;
    const errno = flock.errno();
    if (errno === osConstants.errno.EINTR) continue;
    if (errno !== osConstants.errno.EWOULDBLOCK && errno !== osConstants.errno.EAGAIN) {
      throw Object.assign(new Error(`flock ${path} failed (errno ${errno})`), { code: errnoName(errno) });
    }
    if (!told) {
      told = true;
      options.onBusy?.();
    }
    if (options.signal?.aborted) throw new LockError('aborted', `waiting for the lock on ${path} was aborted`);
    if (Date.now() >= deadline) throw new LockError('timeout', `the lock on ${path} was held by another writer for more than ${options.waitMs ?? LOCK_WAIT_MS} ms`);
    // Jitter keeps waiters in several processes from retrying in step.
    await sleep(backoff * (0.5 + Math.random()), undefined, { signal: options.signal }).catch(() => undefined);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/** The errno's symbolic name (EIO…), so callers map it like any fs error. */
function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return 'EIO';
}
