/**
 * Records in a store directory:
 *
 *   records/<name with '/' as '~'>/<version>.json   one file per version; version N+1 is created with link(2), which
 *                                                     fails when the name exists, so writing it is the compare-and-swap
 *
 * As with the bundle heads, a version file is complete and fsynced before it is linked, so a reader sees the old
 * value or the new one whatever point a writer dies at, and no lock can go stale. Older versions are removed after
 * a write (the last two are kept); a reader that loses a version to that sweep reads again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { linkExclusive, sweepDeadTemps, syncDir, tempName, unlinkQuiet, writeDurable } from './fs-atomic.js';
import { makeDirs, storeFsError } from './fs-failure.js';
import { checkRecordName, checkRecordPrefix, MAX_RECORD_BYTES, MAX_RECORD_LIST, recordConflict, recordText, type ExpectedVersion, type RecordStore, type StoredRecord } from './records.js';

const VERSION_FILE = /^([1-9]\d{0,15})\.json$/;
const KEEP_VERSIONS = 2;

/** The records of a filesystem store rooted at `root` (the same directory as its bundles). */
export class FsRecordStore implements RecordStore {
  readonly location: string;
  readonly #dir: string;

  constructor(readonly root: string) {
    this.location = root;
    this.#dir = join(root, 'records');
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

  async putRecord(name: string, value: unknown, expect: ExpectedVersion): Promise<string> {
    checkRecordName(name);
    const text = recordText(value);
    const dir = this.#recordDir(name);
    try {
      await makeDirs(dir);
      const current = await this.#currentVersion(dir);
      const expected = expect === null ? 0 : Number(expect);
      if (!Number.isSafeInteger(expected) || current !== expected) throw recordConflict(this.location, name, expect, current === 0 ? undefined : String(current));
      const next = current + 1;
      const temp = tempName(dir);
      try {
        await writeDurable(temp, text, 0o644);
        if (!(await linkExclusive(temp, join(dir, `${next}.json`)))) {
          throw recordConflict(this.location, name, expect, String(next));
        }
        await syncDir(dir);
      } finally {
        await unlinkQuiet(temp);
      }
      await this.#sweep(dir, next);
      return String(next);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw storeFsError(err, this.location, `writing record ${name}`);
    }
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
