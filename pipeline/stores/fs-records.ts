/**
 * Records in a store directory:
 *
 *   records/<name with '/' as '~'>/<version>.json   one file per version, the largest number is the current one
 *   records/<name with '/' as '~'>/.lock            empty; writers hold flock(2) on it (see fs-lock.ts), never removed
 *
 * Invariant: a version file name is created at most once, ever. Only a writer holding the record's lock creates
 * or removes version files; under it, it reads the current version N, compares it with the one it expects, and
 * links N+1. The sweep of old versions (under the same lock) never removes the newest, so N is the largest name
 * ever created and N+1 has never existed. Without the lock, a writer that read N and stalled could link N+1 after
 * others wrote N+1…N+3 and the sweep removed N+1: its write "succeeded" below the current version, lost.
 *
 * Readers take no lock. A version file is complete and fsynced before it is linked, so a reader sees the old value
 * or the new one whatever point a writer dies at; the kernel releases a dead writer's lock. The link(2) stays
 * exclusive, which also keeps a writer of an earlier release (which does not lock) from overwriting a version.
 * Older versions are removed after a write (the last two are kept); a reader that loses one to that sweep reads
 * again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { faultPoint } from './fault.js';
import { LockError, withFileLock } from './fs-lock.js';
import { linkExclusive, sweepDeadTemps, syncDir, tempName, unlinkQuiet, writeDurable } from './fs-atomic.js';
import { makeDirs, storeFsError } from './fs-failure.js';
import { checkRecordName, checkRecordPrefix, MAX_RECORD_BYTES, MAX_RECORD_LIST, recordConflict, recordText, type ExpectedVersion, type RecordStore, type StoredRecord } from './records.js';

const VERSION_FILE = /^([1-9]\d{0,15})\.json$/;
const KEEP_VERSIONS = 2;
const LOCK_FILE = '.lock';

/** Points where tests stop a writer, to replay an interleaving exactly. Never set outside tests. */
export interface FsRecordTestHooks {
  /** Under the lock, after the current version was read and matched the expected one, before the new is linked. */
  readonly beforeLink?: (name: string, current: number) => Promise<void>;
  /** When this writer finds the record's lock held by another and starts waiting. */
  readonly onLockBusy?: (name: string) => void;
}

/** The records of a filesystem store rooted at `root` (the same directory as its bundles). */
export class FsRecordStore implements RecordStore {
  readonly location: string;
  readonly #dir: string;
  readonly #hooks: FsRecordTestHooks;

  constructor(readonly root: string, hooks: FsRecordTestHooks = {}) {
    this.location = root;
    this.#dir = join(root, 'records');
    this.#hooks = hooks;
  }

  async getRecord(name: string): Promise<StoredRecord | undefined> {
    checkRecordName(name);
    const dir = this.#recordDir(name);
    // A concurrent writer's sweep can remove the version we just listed: read again (bounded).
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = await this.#currentVersion(dir);
      if (version === 0) return undefined;
      let text: string;
      try {
        text = await readFile(join(dir, `${version}.json`), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw storeFsError(err, this.location, `reading record ${name}`);
      }
      if (Buffer.byteLength(text) > MAX_RECORD_BYTES) throw new StoreError('store-corrupt', `${this.location}: record ${name} is larger than ${MAX_RECORD_BYTES} bytes`);
      try {
        return { value: JSON.parse(text) as unknown, version: String(version) };
      } catch (err) {
        throw new StoreError('store-corrupt', `${this.location}: record ${name} version ${version} is not JSON`, { cause: err });
      }
    }
    throw new StoreError('store-io', `${this.location}: record ${name} kept changing while being read`);
  }

  async putRecord(name: string, value: unknown, expect: ExpectedVersion, options: { signal?: AbortSignal } = {}): Promise<string> {
    checkRecordName(name);
    const text = recordText(value);
    const dir = this.#recordDir(name);
    try {
      await makeDirs(dir);
      return await withFileLock(join(dir, LOCK_FILE), () => this.#putLocked(name, dir, text, expect), {
        signal: options.signal,
        onBusy: () => this.#hooks.onLockBusy?.(name),
      });
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (err instanceof LockError) throw this.#lockError(name, err, options.signal);
      throw storeFsError(err, this.location, `writing record ${name}`);
    }
  }

  /** The compare-and-swap proper; the caller holds the record's lock (see the module comment). */
  async #putLocked(name: string, dir: string, text: string, expect: ExpectedVersion): Promise<string> {
    faultPoint('records:locked');
    const current = await this.#currentVersion(dir);
    const expected = expect === null ? 0 : Number(expect);
    if (!Number.isSafeInteger(expected) || current !== expected) throw recordConflict(this.location, name, expect, current === 0 ? undefined : String(current));
    const next = current + 1;
    const temp = tempName(dir);
    try {
      await writeDurable(temp, text, 0o644);
      faultPoint('records:temp-written');
      await this.#hooks.beforeLink?.(name, current);
      if (!(await linkExclusive(temp, join(dir, `${next}.json`)))) {
        throw recordConflict(this.location, name, expect, String(next));
      }
      faultPoint('records:linked');
      await syncDir(dir);
    } finally {
      await unlinkQuiet(temp);
    }
    await this.#sweep(dir, next);
    return String(next);
  }

  #lockError(name: string, err: LockError, signal: AbortSignal | undefined): unknown {
    if (err.reason === 'aborted') return signal?.reason ?? err;
    if (err.reason === 'timeout') {
      return new StoreError('store-timeout', `${this.location}: record ${name} stayed locked by another writer for too long`, { cause: err, detail: `record ${name} stayed locked by another writer for too long` });
    }
    if (err.reason === 'unavailable') return new StoreError('store-io', `${this.location}: cannot lock record ${name}: ${err.message}`, { cause: err, detail: 'records cannot be locked on this platform' });
    return new StoreError('store-corrupt', `${this.location}: the lock file of record ${name} is not a regular file; not touched`, { cause: err, detail: `the lock file of record ${name} is not a regular file` });
  }

  async listRecords(prefix: string): Promise<string[]> {
    checkRecordPrefix(prefix);
    let entries: string[];
    try {
      entries = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storeFsError(err, this.location, 'listing records');
    }
    const names = entries.map((e) => e.replaceAll('~', '/')).filter((n) => n.startsWith(prefix));
    names.sort();
    return names.slice(0, MAX_RECORD_LIST);
  }

  #recordDir(name: string): string {
    return join(this.#dir, name.replaceAll('/', '~'));
  }

  async #currentVersion(dir: string): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw storeFsError(err, this.location, 'reading records');
    }
    let max = 0;
    for (const e of entries) {
      const m = VERSION_FILE.exec(e);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max;
  }

  /** Removes versions older than the last KEEP_VERSIONS, and temp files of writers that died. */
  async #sweep(dir: string, newest: number): Promise<void> {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const e of entries) {
      const m = VERSION_FILE.exec(e);
      if (m && Number(m[1]) <= newest - KEEP_VERSIONS) await unlinkQuiet(join(dir, e)).catch(() => undefined);
    }
    await sweepDeadTemps(dir).catch(() => 0);
  }
}
