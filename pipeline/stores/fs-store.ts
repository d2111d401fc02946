/**
 * The filesystem bundle store, Palisade's embedded default. Layout under the root directory:
 *
 *   blobs/sha256/<hex>    bundle files, content-addressed, written as temp file + fsync + rename
 *   heads/<version>.json  the history of the `latest` pointer: record N+1 is created with link(2), which fails when
 *                         the name exists, so creating it is a compare-and-swap on the pointer (no lock to go stale)
 *   latest.json           a hint naming the newest head; readers start there and probe forward, so a stale hint
 *                         (crash, or two publishers finishing out of order) never yields a stale answer
 *   tmp/                  temp files, named after the writer's pid; a publish removes its own temps whether it
 *                         succeeds or fails (a full disk leaves none behind) and sweeps those whose writer is dead
 *
 * A head record is complete before it is linked, and a blob is durable before any head names it, so a reader sees
 * either the old bundle or the new one, whatever point a publisher is killed at. One host only: link(2) and
 * rename(2) are atomic on local filesystems, not necessarily on network ones.
 */
import { open, readFile, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readBodyBounded } from './bounded-read.js';
import { join, resolve } from 'node:path';
import { StoreError, serialConflict } from './errors.js';
import { checkFetched, checkPublishable, digestHex, parseDescriptor, sha256Digest } from './digest.js';
import { linkExclusive, renameDurable, sweepDeadTemps, syncDir, tempName, unlinkQuiet, writeDurable } from './fs-atomic.js';
import { makeDirs, storeFsError } from './fs-failure.js';
import { faultPoint } from './fault.js';
import { pollLatest } from './watch.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
import type { BundleDescriptor, BundlePage, BundleStore, GetOptions, PagedBundleSource, PublishableBundle, PublishOptions, StreamingBundleSource, UnlistedBundleStore,
  WatchOptions } from './types.js';

/** One version of the `latest` pointer, as stored in heads/. */
interface Head {
  readonly version: number;
  readonly descriptor: BundleDescriptor;
}

const HEAD_DIGITS = 12;
// A lost link race is retried this many times before the publish gives up; each retry re-checks the serial.
const MAX_LINK_RACES = 32;
// Head records per page when list() walks the whole history, and per parallel read within a page.
const LIST_BATCH = 1000;
const LIST_READ_BATCH = 32;

/** Options of {@link FsBundleStore}. */
export interface FsStoreOptions {
  /** Largest bundle this store accepts on publish, in bytes. */
  readonly maxBundleBytes?: number;
}

/** A bundle store in a local directory. */
export class FsBundleStore implements BundleStore, UnlistedBundleStore, StreamingBundleSource, PagedBundleSource {
  readonly location: string;
  readonly root: string;
  readonly #maxBytes: number;
  readonly #blobs: string;
  readonly #heads: string;
  readonly #tmp: string;
  readonly #hint: string;

  /** @param root the store directory; created on the first publish. */
  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = resolve(root);
    this.location = this.root;
    this.#maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    this.#blobs = join(this.root, 'blobs', 'sha256');
    this.#heads = join(this.root, 'heads');
    this.#tmp = join(this.root, 'tmp');
    this.#hint = join(this.root, 'latest.json');
  }

  /**
   * @inheritdoc
   * @throws StoreError `store-no-space`, `store-read-only`, `store-io` for a filesystem failure (nothing published,
   *   no temp file left behind).
   */
  async publish(bundle: PublishableBundle, options: PublishOptions = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#maxBytes);
    // Every temp this publish makes is removed at the end, published or not: a failed write must not pin disk space.
    const temps: string[] = [];
    try {
      return await this.#publish(bundle, options, temps);
    } catch (err) {
      throw storeFsError(err, this.root, 'publishing');
    } finally {
      for (const t of temps) await unlinkQuiet(t).catch(() => undefined);
    }
  }

  /**
   * @inheritdoc
   * @throws StoreError `store-no-space`, `store-read-only`, `store-io` (no temp file left behind).
   */
  async storeUnlisted(bundle: PublishableBundle): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#maxBytes);
    const temps: string[] = [];
    try {
      for (const d of [this.#blobs, this.#tmp]) await makeDirs(d);
      const descriptor: BundleDescriptor = { serial: bundle.serial, digest: sha256Digest(bundle.bytes), size: bundle.bytes.byteLength };
      await this.#writeBlob(descriptor, bundle.bytes, temps);
      return descriptor;
    } catch (err) {
      throw storeFsError(err, this.root, 'storing a bundle');
    } finally {
      for (const t of temps) await unlinkQuiet(t).catch(() => undefined);
    }
  }

  async #publish(bundle: PublishableBundle, options: PublishOptions, temps: string[]): Promise<BundleDescriptor> {
    for (const d of [this.#blobs, this.#heads, this.#tmp]) await makeDirs(d);
    await sweepDeadTemps(this.#tmp);
    const descriptor: BundleDescriptor = { serial: bundle.serial, digest: sha256Digest(bundle.bytes), size: bundle.bytes.byteLength };

    let head = await this.#readHead();
    this.#checkCas(descriptor.serial, head, options.expectLatestSerial);
    // The blob goes first: a head may only ever name a blob that is already durable.
    await this.#writeBlob(descriptor, bundle.bytes, temps);

    for (let race = 0; ; race++) {
      options.signal?.throwIfAborted();
      const version = (head?.version ?? 0) + 1;
      const record = JSON.stringify({ version, ...descriptor, publishedAt: new Date().toISOString() }) + '\n';
      const temp = await this.#writeTemp(Buffer.from(record), temps);
      faultPoint('fs:head-temp-written');
      const won = await linkExclusive(temp, this.#headPath(version));
      if (won) {
        await syncDir(this.#heads);
        faultPoint('fs:head-linked');
        // The publish has taken effect: a hint that cannot be written (disk full) must not report it as failed.
        // Readers probe forward from an old or missing hint, so the store stays correct without it.
        await this.#writeHint(temp, record, temps).catch(() => undefined);
        return descriptor;
      }
      await unlinkQuiet(temp);
      // Another publisher took this version: re-read and decide again, exactly as if we had started later.
      head = await this.#readHead();
      this.#checkCas(descriptor.serial, head, options.expectLatestSerial);
      if (race >= MAX_LINK_RACES) throw serialConflict(this.location, descriptor.serial, head?.descriptor);
    }
  }

  /** A new durable temp file holding `bytes`; its name is recorded in `temps` before anything is written. */
  async #writeTemp(bytes: Uint8Array, temps: string[]): Promise<string> {
    const temp = tempName(this.#tmp);
    temps.push(temp);
    await writeDurable(temp, bytes);
    return temp;
  }

  /** @inheritdoc @throws StoreError `store-corrupt`; `store-io` when the directory cannot be read. */
  async latest(): Promise<BundleDescriptor | undefined> {
    try {
      return (await this.#readHead())?.descriptor;
    } catch (err) {
      throw storeFsError(err, this.root, 'reading latest');
    }
  }

  /** @inheritdoc */
  async get(digest: string, options: GetOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    const { size, stream } = await this.openBlob(digest);
    if (size > max) {
      stream.destroy();
      throw new StoreError('store-too-large', `${this.location}: ${digest} has ${size} bytes, the limit is ${max}`);
    }
    const bytes = await readBodyBounded(stream, max, `${this.location}: ${digest}`).catch((err: unknown) => {
      throw storeFsError(err, this.root, `reading ${digest}`);
    });
    checkFetched(this.location, digest, bytes, options.expectedSize);
    return bytes;
  }

  /**
   * The blob as a stream of its size, not yet checked against its digest (blobs are immutable and were complete
   * when renamed into place; readers check the digest).
   * @throws StoreError `store-not-found`, `store-bad-input`.
   */
  async openBlob(digest: string): Promise<{ size: number; stream: Readable }> {
    const path = join(this.#blobs, digestHex(digest));
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError('store-not-found', `${this.location}: no bundle ${digest}`);
      throw storeFsError(err, this.root, `reading ${digest}`);
    }
    try {
      const { size } = await fh.stat();
      return { size, stream: fh.createReadStream({ highWaterMark: 256 * 1024 }) };
    } catch (err) {
      await fh.close();
      throw storeFsError(err, this.root, `reading ${digest}`);
    }
  }

  /** @inheritdoc */
  watch(sinceSerial: number, options: WatchOptions): AsyncIterable<BundleDescriptor> {
    return pollLatest(() => this.latest(), sinceSerial, options);
  }

  /** @inheritdoc */
  async list(): Promise<BundleDescriptor[]> {
    const out: BundleDescriptor[] = [];
    let after: string | undefined;
    do {
      const page = await this.listPage({ limit: LIST_BATCH, ...(after === undefined ? {} : { after }) });
      out.push(...page.bundles);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /**
   * One page of the history, oldest first, reading only the head records of that page (head versions are dense
   * from 1, so a page is a range of file names: no directory listing, however long the history).
   * @throws StoreError `store-bad-input` for a cursor this store did not hand out, `store-corrupt`, `store-io`.
   */
  async listPage(options: { after?: string; limit: number }): Promise<BundlePage> {
    const after = options.after;
    if (after !== undefined && !/^(0|[1-9]\d{0,14})$/.test(after)) {
      throw new StoreError('store-bad-input', `not a listing cursor of this store: ${JSON.stringify(after).slice(0, 40)}`,
        { detail: 'not a listing cursor of this store' });
    }
    const first = after === undefined ? 1 : Number(after) + 1;
    const limit = Math.max(1, Math.floor(options.limit));
    const bundles: BundleDescriptor[] = [];
    try {
      // Read in small parallel batches: a page is quick without opening hundreds of files at once.
      for (let v = first; bundles.length < limit; v += LIST_READ_BATCH) {
        const count = Math.min(LIST_READ_BATCH, limit - bundles.length);
        const heads = await Promise.all(Array.from({ length: count }, (_, i) => this.#readHeadFile(v + i)));
        const end = heads.indexOf(undefined);
        for (const h of end < 0 ? heads : heads.slice(0, end)) bundles.push(h!.descriptor);
        if (end >= 0) return { bundles, next: undefined };
      }
      const last = first + bundles.length - 1;
      const more = (await this.#readHeadFile(last + 1)) !== undefined;
      return { bundles, next: more ? String(last) : undefined };
    } catch (err) {
      throw storeFsError(err, this.root, 'listing bundles');
    }
  }

  #checkCas(serial: number, head: Head | undefined, expected: number | undefined): void {
    const have = head?.descriptor.serial ?? 0;
    if (serial <= have || (expected !== undefined && expected !== have)) {
      throw serialConflict(this.location, serial, head?.descriptor, expected);
    }
  }

  async #writeBlob(d: BundleDescriptor, bytes: Uint8Array, temps: string[]): Promise<void> {
    const dest = join(this.#blobs, digestHex(d.digest));
    const existing = await stat(dest).catch(() => undefined);
    // A blob only appears under its name by rename of a complete, fsynced file, so a present blob is whole.
    if (existing?.size === d.size) return;
    const temp = await this.#writeTemp(bytes, temps);
    faultPoint('fs:blob-temp-written');
    await renameDurable(temp, dest, this.#blobs);
    faultPoint('fs:blob-renamed');
  }

  async #writeHint(headTemp: string, record: string, temps: string[]): Promise<void> {
    const temp = await this.#writeTemp(Buffer.from(record), temps);
    faultPoint('fs:hint-temp-written');
    await renameDurable(temp, this.#hint, this.root);
    faultPoint('fs:hint-renamed');
    await unlinkQuiet(headTemp);
  }

  #headPath(version: number): string {
    return join(this.#heads, `${String(version).padStart(HEAD_DIGITS, '0')}.json`);
  }

  async #headVersions(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.#heads);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => /^\d+\.json$/.test(n)).map((n) => Number(n.slice(0, -5)));
  }

  async #readHeadFile(version: number): Promise<Head | undefined> {
    const path = this.#headPath(version);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return { version, descriptor: parseDescriptor(text, path) };
  }

  /** The newest head: from the hint, then forward while the next version exists. */
  async #readHead(): Promise<Head | undefined> {
    let version = await this.#hintVersion();
    if (version === undefined) {
      const all = await this.#headVersions();
      if (all.length === 0) return undefined;
      version = Math.max(...all);
    }
    let head = await this.#readHeadFile(version);
    if (!head) throw new StoreError('store-corrupt', `${this.location}: latest.json names head ${version}, which is missing`);
    for (;;) {
      const next = await this.#readHeadFile(head.version + 1);
      if (!next) return head;
      head = next;
    }
  }

  async #hintVersion(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.#hint, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let v: unknown;
    try {
      v = (JSON.parse(text) as { version?: unknown }).version;
    } catch {
      v = undefined;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new StoreError('store-corrupt', `${this.#hint}: not a head record`);
    }
    return v;
  }
}
