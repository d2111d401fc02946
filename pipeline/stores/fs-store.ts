/**
 * The filesystem bundle store, Palisade's embedded default. Layout under the root directory:
 *
 *   blobs/sha256/<hex>    bundle files, content-addressed, written as temp file + fsync + rename
 *   heads/<version>.json  the history of the `latest` pointer: record N+1 is created with link(2), which fails when
 *                         the name exists, so creating it is a compare-and-swap on the pointer (no lock to go stale)
 *   latest.json           a hint naming the newest head; readers start there and probe forward, so a stale hint
 *                         (crash, or two publishers finishing out of order) never yields a stale answer
 *   tmp/                  temp files, named after the writer's pid; a publish sweeps those whose writer is dead
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
import { ensureDirs, linkExclusive, renameDurable, sweepDeadTemps, syncDir, tempName, unlinkQuiet, writeDurable } from './fs-atomic.js';
import { faultPoint } from './fault.js';
import { pollLatest } from './watch.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
import type { BundleDescriptor, BundleStore, GetOptions, PublishableBundle, PublishOptions, StreamingBundleSource, WatchOptions } from './types.js';

/** One version of the `latest` pointer, as stored in heads/. */
interface Head {
  readonly version: number;
  readonly descriptor: BundleDescriptor;
}

const HEAD_DIGITS = 12;
// A lost link race is retried this many times before the publish gives up; each retry re-checks the serial.
const MAX_LINK_RACES = 32;

/** Options of {@link FsBundleStore}. */
export interface FsStoreOptions {
  /** Largest bundle this store accepts on publish, in bytes. */
  readonly maxBundleBytes?: number;
}

/** A bundle store in a local directory. */
export class FsBundleStore implements BundleStore, StreamingBundleSource {
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

  /** @inheritdoc */
  async publish(bundle: PublishableBundle, options: PublishOptions = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#maxBytes);
    await ensureDirs(this.#blobs, this.#heads, this.#tmp);
    await sweepDeadTemps(this.#tmp);
    const descriptor: BundleDescriptor = { serial: bundle.serial, digest: sha256Digest(bundle.bytes), size: bundle.bytes.byteLength };

    let head = await this.#readHead();
    this.#checkCas(descriptor.serial, head, options.expectLatestSerial);
    // The blob goes first: a head may only ever name a blob that is already durable.
    await this.#writeBlob(descriptor, bundle.bytes);

    for (let race = 0; ; race++) {
      options.signal?.throwIfAborted();
      const version = (head?.version ?? 0) + 1;
      const record = JSON.stringify({ version, ...descriptor, publishedAt: new Date().toISOString() }) + '\n';
      const temp = tempName(this.#tmp);
      await writeDurable(temp, Buffer.from(record));
      faultPoint('fs:head-temp-written');
      const won = await linkExclusive(temp, this.#headPath(version));
      if (won) {
        await syncDir(this.#heads);
        faultPoint('fs:head-linked');
        await this.#writeHint(temp, record);
        return descriptor;
      }
      await unlinkQuiet(temp);
      // Another publisher took this version: re-read and decide again, exactly as if we had started later.
      head = await this.#readHead();
      this.#checkCas(descriptor.serial, head, options.expectLatestSerial);
      if (race >= MAX_LINK_RACES) throw serialConflict(this.location, descriptor.serial, head?.descriptor);
    }
  }

  /** @inheritdoc */
  async latest(): Promise<BundleDescriptor | undefined> {
    return (await this.#readHead())?.descriptor;
  }

  /** @inheritdoc */
  async get(digest: string, options: GetOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    const { size, stream } = await this.openBlob(digest);
    if (size > max) {
      stream.destroy();
      throw new StoreError('store-too-large', `${this.location}: ${digest} has ${size} bytes, the limit is ${max}`);
    }
    const bytes = await readBodyBounded(stream, max, `${this.location}: ${digest}`);
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
      throw err;
    }
    try {
      const { size } = await fh.stat();
      return { size, stream: fh.createReadStream({ highWaterMark: 256 * 1024 }) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** @inheritdoc */
  watch(sinceSerial: number, options: WatchOptions): AsyncIterable<BundleDescriptor> {
    return pollLatest(() => this.latest(), sinceSerial, options);
  }

  /** @inheritdoc */
  async list(): Promise<BundleDescriptor[]> {
    const versions = (await this.#headVersions()).sort((a, b) => a - b);
    const out: BundleDescriptor[] = [];
    for (const v of versions) out.push((await this.#readHeadFile(v))!.descriptor);
    return out;
  }

  #checkCas(serial: number, head: Head | undefined, expected: number | undefined): void {
    const have = head?.descriptor.serial ?? 0;
    if (serial <= have || (expected !== undefined && expected !== have)) {
      throw serialConflict(this.location, serial, head?.descriptor, expected);
    }
  }

  async #writeBlob(d: BundleDescriptor, bytes: Uint8Array): Promise<void> {
    const dest = join(this.#blobs, digestHex(d.digest));
    const existing = await stat(dest).catch(() => undefined);
    // A blob only appears under its name by rename of a complete, fsynced file, so a present blob is whole.
    if (existing?.size === d.size) return;
    const temp = tempName(this.#tmp);
    await writeDurable(temp, bytes);
    faultPoint('fs:blob-temp-written');
    await renameDurable(temp, dest, this.#blobs);
    faultPoint('fs:blob-renamed');
  }

  async #writeHint(headTemp: string, record: string): Promise<void> {
    const temp = tempName(this.#tmp);
    await writeDurable(temp, Buffer.from(record));
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
