/**
 * The HTTP client store: talks to `palisade serve` with Node's fetch. Every body is read with a byte bound, every
 * request has a deadline that covers its body, the listing follows `Link` pages on the same store only, and the
 * token only ever goes into the Authorization header.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from './errors.js';
import { checkFetched, checkPublishable, digestHex, parseDescriptor, sha256Digest, toDescriptor } from './digest.js';
import { readBodyBounded } from './bounded-read.js';
import { fetchWithTimeout } from './fetch-with-timeout.js';
import { API_PREFIX, EXPECT_LATEST_HEADER, MAX_LIST_LIMIT, SERIAL_HEADER, latestEtag } from './http-protocol.js';
import { nextPageUrl } from './link-next.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
import type { BundleDescriptor, BundleStore, GetOptions, PublishableBundle, PublishOptions, UnlistedBundleStore, WatchOptions } from './types.js';

/** Options of {@link HttpBundleStore}. */
export interface HttpStoreOptions {
  /** Bearer token for uploads. */
  readonly token?: string | undefined;
  /** Deadline of one request, body included (not counting a long poll's wait), in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** How long each long poll of `watch` asks the server to wait, in seconds (default 30). */
  readonly waitSeconds?: number;
  /** Least time between two polls of `watch` that brought nothing new, in milliseconds (default 1000). */
  readonly minPollIntervalMs?: number;
  /** Largest bundle accepted on publish, in bytes. */
  readonly maxBundleBytes?: number;
  /** The fetch to use (tests pass their own). */
  readonly fetch?: typeof fetch;
}

// A descriptor or an error answer is a few hundred bytes; anything much bigger is not a Palisade server talking.
const MAX_JSON_BYTES = 64 * 1024;
// One page of the listing: at most MAX_LIST_LIMIT descriptors of ~130 bytes.
const MAX_PAGE_BYTES = 1024 * 1024;
// Pages followed by list() (a million descriptors at the largest page size), and the longest ETag kept.
const MAX_LIST_PAGES = 1000;
const MAX_ETAG_CHARS = 256;

/** A bundle store behind `palisade serve`, addressed by its base URL (`http(s)://host[:port][/prefix]`). */
export class HttpBundleStore implements BundleStore, UnlistedBundleStore {
  readonly location: string;
  readonly #base: string;
  readonly #options: HttpStoreOptions;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, options: HttpStoreOptions = {}) {
    const u = new URL(baseUrl);
    if (u.username || u.password) throw new StoreError('store-bad-url', 'put the store token in --token-file or PALISADE_STORE_TOKEN, not in the URL');
    this.#base = u.href.replace(/\/+$/, '');
    this.location = this.#base;
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** @inheritdoc */
  async storeUnlisted(bundle: PublishableBundle, options: { signal?: AbortSignal } = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
    const digest = sha256Digest(bundle.bytes);
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', [SERIAL_HEADER]: String(bundle.serial) };
    if (this.#options.token !== undefined) headers.Authorization = `Bearer ${this.#options.token}`;
    const res = await this.#request(`${API_PREFIX}/${digest}`, { method: 'PUT', headers, body: bundle.bytes }, options.signal);
    const body = await this.#json(res, `PUT ${API_PREFIX}/${digest}`);
    if (res.status === 201) return toDescriptor(body, `${this.location}: upload answer`, 'store-protocol');
    throw this.#refused(res, body);
  }

  /** @inheritdoc */
  async publish(bundle: PublishableBundle, options: PublishOptions = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      [SERIAL_HEADER]: String(bundle.serial),
    };
    if (this.#options.token !== undefined) headers.Authorization = `Bearer ${this.#options.token}`;
    if (options.expectLatestSerial !== undefined) headers[EXPECT_LATEST_HEADER] = String(options.expectLatestSerial);
    const res = await this.#request(API_PREFIX, { method: 'PUT', headers, body: bundle.bytes }, options.signal);
    const body = await this.#json(res, `PUT ${API_PREFIX}`);
    if (res.status === 201) return toDescriptor(body, `${this.location}: upload answer`, 'store-protocol');
    throw this.#refused(res, body);
  }

  /** The StoreError for a refused upload answer. */
  #refused(res: Response, body: unknown): StoreError {
    const info = body as { error?: unknown; message?: unknown; current?: unknown };
    const reason = typeof info.error === 'string' ? ` ${info.error.slice(0, 64)}` : '';
    const message = `${this.location}: upload refused (${res.status}${reason}): ${typeof info.message === 'string' ? info.message.slice(0, 500) : 'no reason given'}`;
    if (res.status === 409) {
      const current = info.current === undefined ? undefined : toDescriptor(info.current, `${this.location}: conflict answer`, 'store-protocol');
      return new StoreError('store-conflict', message, current ? { current } : {});
    }
    if (res.status === 401 || res.status === 403) return new StoreError('store-unauthorized', message);
    if (res.status === 413) return new StoreError('store-too-large', message);
    if (res.status === 507) return new StoreError('store-no-space', message);
    if (res.status === 503 && info.error === 'store-read-only') return new StoreError('store-read-only', message);
    return new StoreError(res.status === 400 || res.status === 422 ? 'store-bad-input' : 'store-protocol', message);
  }

  /** @inheritdoc */
  async latest(options: { signal?: AbortSignal } = {}): Promise<BundleDescriptor | undefined> {
    return (await this.#latest(undefined, undefined, options.signal)).descriptor;
  }

  /** @inheritdoc */
  async get(digest: string, options: GetOptions = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    // Never read more than the descriptor announced (plus nothing): endless data stops at that byte.
    const bound = Math.min(max, options.expectedSize ?? max);
    const res = await this.#request(`${API_PREFIX}/sha256:${digestHex(digest)}`, {}, options.signal);
    if (res.status === 404) {
      await res.body?.cancel();
      throw new StoreError('store-not-found', `${this.location}: no bundle ${digest}`);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new StoreError('store-protocol', `${this.location}: GET ${digest} answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > bound) {
      await res.body?.cancel();
      throw new StoreError('store-too-large', `${this.location}: ${digest} is ${declared} bytes, more than the ${bound} allowed`);
    }
    const bytes = await readBodyBounded(res.body, bound, `${this.location}: ${digest}`, options.expectedSize);
    checkFetched(this.location, digest, bytes, options.expectedSize);
    return bytes;
  }

  /**
   * @inheritdoc Uses long polls (`?wait=`), so a change arrives as soon as the server sees it. A failed request
   * ends the iteration with its StoreError; the caller decides when to watch again.
   */
  async *watch(sinceSerial: number, options: WatchOptions): AsyncGenerator<BundleDescriptor> {
    let etag: string | undefined;
    let seen = sinceSerial;
    const wait = this.#options.waitSeconds ?? 30;
    const minInterval = this.#options.minPollIntervalMs ?? 1000;
    while (!options.signal.aborted) {
      const started = Date.now();
      let answer: { descriptor: BundleDescriptor | undefined; etag: string | undefined };
      try {
        answer = await this.#latest(wait, etag, options.signal);
      } catch (err) {
        if (options.signal.aborted) return;
        throw err;
      }
      etag = answer.etag ?? etag;
      const d = answer.descriptor;
      if (d && d.serial > seen) {
        seen = d.serial;
        yield d;
        continue;
      }
      // Nothing new: a server (or proxy) that answers at once instead of holding the poll must not make this loop
      // spin, so polls without news are at least minPollIntervalMs apart.
      const rest = minInterval - (Date.now() - started);
      if (rest > 0) await sleep(rest, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  /**
   * @inheritdoc Follows the server's `Link: rel="next"` pages (same store only), at most MAX_LIST_PAGES of them.
   * @throws StoreError `store-protocol` for a page that is malformed, leaves the store, or does not continue the
   *   serials of the previous one.
   */
  async list(options: { signal?: AbortSignal } = {}): Promise<BundleDescriptor[]> {
    const out: BundleDescriptor[] = [];
    let url: string | undefined = `${this.#base}${API_PREFIX}?limit=${MAX_LIST_LIMIT}`;
    for (let page = 0; url !== undefined; page++) {
      if (page >= MAX_LIST_PAGES) throw new StoreError('store-protocol', `${this.location}: the listing has more than ${MAX_LIST_PAGES} pages`);
      const res = await this.#send(url, {}, options.signal);
      const body = (await this.#json(res, `GET ${API_PREFIX}`, MAX_PAGE_BYTES)) as { bundles?: unknown } | null;
      if (res.status !== 200 || !Array.isArray(body?.bundles)) throw new StoreError('store-protocol', `${this.location}: list answered ${res.status}`);
      for (const [i, b] of body.bundles.entries()) {
        const d = toDescriptor(b, `${this.location}: list page ${page + 1} entry ${i}`, 'store-protocol');
        // Oldest first, serials rising: a server repeating a page (a cursor loop) is caught here.
        if (out.length > 0 && d.serial <= out[out.length - 1]!.serial) {
          throw new StoreError('store-protocol', `${this.location}: the listing goes back from serial ${out[out.length - 1]!.serial} to ${d.serial}`);
        }
        out.push(d);
      }
      const next = nextPageUrl(res.headers.get('link'), url, new URL(`${this.#base}${API_PREFIX}`).pathname, this.location);
      if (next !== undefined && body.bundles.length === 0) throw new StoreError('store-protocol', `${this.location}: an empty page names a next page`);
      url = next;
    }
    return out;
  }

  /** GET latest, as a long poll when `waitSeconds` is set; a 304 keeps the caller's descriptor (undefined here). */
  async #latest(waitSeconds: number | undefined, etag: string | undefined, signal: AbortSignal | undefined):
    Promise<{ descriptor: BundleDescriptor | undefined; etag: string | undefined }> {
    const path = `${API_PREFIX}/latest${waitSeconds === undefined ? '' : `?wait=${waitSeconds}s`}`;
    const headers: Record<string, string> = etag ? { 'If-None-Match': etag } : {};
    const res = await this.#request(path, { headers }, signal, (waitSeconds ?? 0) * 1000);
    if (res.status === 304) {
      await res.body?.cancel();
      return { descriptor: undefined, etag };
    }
    if (res.status === 404) {
      // Only the store's own "empty" answer means empty; any other 404 is a wrong URL, not an empty store.
      const body = (await this.#json(res, `GET ${path}`).catch(() => undefined)) as { error?: unknown } | undefined;
      if (body?.error !== 'empty') throw new StoreError('store-protocol', `${this.location}: no Palisade store here (GET ${path} answered 404)`);
      return { descriptor: undefined, etag: latestEtag(undefined) };
    }
    const text = new TextDecoder().decode(await readBodyBounded(res.body, MAX_JSON_BYTES, `${this.location}${path}`));
    if (res.status !== 200) throw new StoreError('store-protocol', `${this.location}: GET latest answered ${res.status}`);
    const answered = res.headers.get('etag');
    // An ETag is sent back on every long poll: a hostile one is not kept.
    return { descriptor: parseDescriptor(text, `${this.location}: latest`, 'store-protocol'),
      etag: answered !== null && answered.length <= MAX_ETAG_CHARS ? answered : undefined };
  }

  async #json(res: Response, what: string, maxBytes = MAX_JSON_BYTES): Promise<unknown> {
    const text = new TextDecoder().decode(await readBodyBounded(res.body, maxBytes, `${this.location}: ${what}`));
    try {
      return JSON.parse(text);
    } catch {
      throw new StoreError('store-protocol', `${this.location}: ${what} answered ${res.status} with a body that is not JSON`);
    }
  }

  /** One request to a path of the store with a deadline of `timeoutMs` plus `extraMs` (a long poll's wait). */
  #request(path: string, init: RequestInit, signal: AbortSignal | undefined, extraMs = 0): Promise<Response> {
    return this.#send(`${this.#base}${path}`, init, signal, extraMs);
  }

  #send(url: string, init: RequestInit, signal: AbortSignal | undefined, extraMs = 0): Promise<Response> {
    return fetchWithTimeout(url, init,
      { fetch: this.#fetch, timeoutMs: (this.#options.timeoutMs ?? 30_000) + extraMs, location: this.location, signal });
  }
}
