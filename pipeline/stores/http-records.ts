/**
 * Records over HTTP, both sides of `palisade serve`'s record routes:
 *
 *   GET /v1/records/<name>        `{value}`; ETag = `"<version>"`; 404 when there is none
 *   GET /v1/records?prefix=P      `{names}`: the record names starting with P, sorted
 *   GET /v1/records?prefix=P&values=1[&after=N]
 *                                 `{records: [{name, value, version}], next?}`: those records with values, sorted,
 *                                 names after N only; a page is at most MAX_RECORD_PAGE_BYTES of JSON and `next`
 *                                 (the last name in it) says there is more: ask again with after=next
 *   PUT /v1/records/<name>        body `{value}`, Authorization: Bearer <token>, and exactly one of
 *                                 `If-Match: "<version>"` (replace that version) or `If-None-Match: *` (create);
 *                                 200 + ETag, 412 when the record changed (the compare-and-swap failed)
 *
 * Reads are open like the bundles (records hold no secrets: rollout state, node targets and statuses); writes need
 * the upload token. Bodies are bounded; error answers follow the store's answer table (no server paths).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBodyBounded, readRequestBounded } from './bounded-read.js';
import { StoreError } from './errors.js';
import { fetchWithTimeout } from './fetch-with-timeout.js';
import { bearerMatches } from './http-auth.js';
import { storeErrorAnswer } from './http-error-answer.js';
import { checkRecordName, checkRecordPrefix, isRecordName, MAX_RECORD_BYTES, MAX_RECORD_LIST, MAX_RECORD_PAGE_BYTES, RECORD_READ_CONCURRENCY, readEachRecord, readNamedRecords, recordText, type ExpectedVersion, type NamedRecord, type RecordStore, type StoredRecord } from './records.js';

/** Path prefix of the record routes. */
export const RECORDS_PREFIX = '/v1/records';
const VERSION_ETAG = /^"([1-9]\d{0,15})"$/;
const VERSION = /^[1-9]\d{0,15}$/;
// Pages a client follows before it calls the listing endless (MAX_RECORD_LIST records fit in far fewer).
const MAX_RECORD_PAGES = 10_000;
// The JSON envelope around a value adds a few bytes.
const MAX_BODY_BYTES = MAX_RECORD_BYTES + 64;

/**
 * Serves one request under {@link RECORDS_PREFIX}.
 * @param path the decoded request path (starting with RECORDS_PREFIX)
 */
export async function serveRecordRequest(req: IncomingMessage, res: ServerResponse, path: string, url: URL, records: RecordStore, token: string | undefined, log: (line: string) => void): Promise<void> {
  const method = req.method ?? 'GET';
  const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(method === 'HEAD' ? undefined : JSON.stringify(body));
  };
  const fail = (err: unknown): void => {
    if (!(err instanceof StoreError)) throw err;
    if (err.code === 'store-conflict') return send(412, { error: err.code, message: err.detail ?? 'the record changed' });
    const { status, body } = storeErrorAnswer(err);
    send(status, body);
  };
  try {
    if (path === RECORDS_PREFIX && (method === 'GET' || method === 'HEAD')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      checkRecordPrefix(prefix);
      if (url.searchParams.get('values') === '1') {
        const after = url.searchParams.get('after') ?? '';
        if (after !== '') checkRecordName(after);
        return send(200, await recordPage(records, prefix, after));
      }
      return send(200, { names: await records.listRecords(prefix) });
    }
    const name = path.slice(RECORDS_PREFIX.length + 1);
    if (!path.startsWith(`${RECORDS_PREFIX}/`)) return send(404, { error: 'not-found', message: 'no such route' });
    checkRecordName(name);
    if (method === 'GET' || method === 'HEAD') {
      const record = await records.getRecord(name);
      if (!record) return send(404, { error: 'store-not-found', message: `no record ${name}` });
      return send(200, { value: record.value }, { ETag: `"${record.version}"` });
    }
    if (method !== 'PUT') return send(405, { error: 'method-not-allowed', message: `${method.slice(0, 16)} ${RECORDS_PREFIX}/…` });
    if (token === undefined) return send(403, { error: 'writes-disabled', message: 'this server has no upload token configured' });
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="palisade"');
      return send(401, { error: 'unauthorized', message: 'missing or wrong bearer token' });
    }
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    let expect: ExpectedVersion;
    if (ifNoneMatch === '*' && ifMatch === undefined) expect = null;
    else if (ifNoneMatch === undefined && typeof ifMatch === 'string' && VERSION_ETAG.test(ifMatch)) expect = VERSION_ETAG.exec(ifMatch)![1]!;
    else return send(428, { error: 'precondition-required', message: 'send If-Match: "<version>" or If-None-Match: *' });
    const bytes = await readRequestBounded(req, MAX_BODY_BYTES);
    if (!bytes) {
      res.setHeader('Connection', 'close');
      return send(413, { error: 'too-large', message: `a record is at most ${MAX_RECORD_BYTES} bytes` });
    }
    let body: { value?: unknown };
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8')) as { value?: unknown };
    } catch {
      return send(400, { error: 'bad-request', message: 'body is not JSON' });
    }
    if (typeof body !== 'object' || body === null || !('value' in body)) return send(400, { error: 'bad-request', message: 'body must be {"value": …}' });
    const version = await records.putRecord(name, body.value, expect);
    log(`PUT ${RECORDS_PREFIX}/${name} 200 version=${version}`);
    return send(200, { version }, { ETag: `"${version}"` });
  } catch (err) {
    return fail(err);
  }
}

/** One page of records with values: names after `after`, at most MAX_RECORD_PAGE_BYTES of JSON (at least one). */
async function recordPage(records: RecordStore, prefix: string, after: string): Promise<{ records: NamedRecord[]; next?: string }> {
  const names = (await records.listRecords(prefix)).filter((n) => n > after);
  const page: NamedRecord[] = [];
  let bytes = 0;
  for (let i = 0; i < names.length; i += RECORD_READ_CONCURRENCY) {
    for (const entry of await readNamedRecords(records, names.slice(i, i + RECORD_READ_CONCURRENCY))) {
      const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
      if (page.length > 0 && bytes + size > MAX_RECORD_PAGE_BYTES) return { records: page, next: page.at(-1)!.name };
      page.push(entry);
      bytes += size;
    }
  }
  return { records: page };
}

/** Options of {@link HttpRecordStore}. */
export interface HttpRecordStoreOptions {
  readonly token?: string | undefined;
  /** Deadline of one request, ms (default 30 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** The records of a `palisade serve` store, addressed by its base URL. */
export class HttpRecordStore implements RecordStore {
  readonly location: string;
  readonly #base: string;
  readonly #o: HttpRecordStoreOptions;

  constructor(baseUrl: string, options: HttpRecordStoreOptions = {}) {
    const u = new URL(baseUrl);
    if (u.username || u.password) throw new StoreError('store-bad-url', 'put the store token in --token-file or PALISADE_STORE_TOKEN, not in the URL');
    this.#base = u.href.replace(/\/+$/, '');
    this.location = this.#base;
    this.#o = options;
  }

  async getRecord(name: string, options: { signal?: AbortSignal } = {}): Promise<StoredRecord | undefined> {
    checkRecordName(name);
    const res = await this.#send(`${RECORDS_PREFIX}/${name}`, { method: 'GET' }, options.signal);
    const body = await this.#json(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#refused(res, body, `reading record ${name}`);
    const etag = VERSION_ETAG.exec(res.headers.get('etag') ?? '');
    if (!etag || typeof body !== 'object' || body === null || !('value' in body)) {
      throw new StoreError('store-protocol', `${this.location}: record ${name}: the answer has no version or value`);
    }
    return { value: (body as { value: unknown }).value, version: etag[1]! };
  }

  async putRecord(name: string, value: unknown, expect: ExpectedVersion, options: { signal?: AbortSignal } = {}): Promise<string> {
    checkRecordName(name);
    const text = recordText(value);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(expect === null ? { 'If-None-Match': '*' } : { 'If-Match': `"${expect}"` }) };
    if (this.#o.token !== undefined) headers.Authorization = `Bearer ${this.#o.token}`;
    const res = await this.#send(`${RECORDS_PREFIX}/${name}`, { method: 'PUT', headers, body: `{"value":${text}}` }, options.signal);
    const body = await this.#json(res);
    if (res.status === 200) {
      const etag = VERSION_ETAG.exec(res.headers.get('etag') ?? '');
      if (!etag) throw new StoreError('store-protocol', `${this.location}: record ${name}: the answer has no version`);
      return etag[1]!;
    }
    throw this.#refused(res, body, `writing record ${name}`);
  }

  async listRecords(prefix: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    checkRecordPrefix(prefix);
    const res = await this.#send(`${RECORDS_PREFIX}?prefix=${encodeURIComponent(prefix)}`, { method: 'GET' }, options.signal);
    const body = await this.#json(res, 8 * 1024 * 1024);
    if (res.status !== 200) throw this.#refused(res, body, 'listing records');
    const names = (body as { names?: unknown }).names;
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new StoreError('store-protocol', `${this.location}: the record listing is malformed`);
    return names as string[];
  }

  /**
   * @inheritdoc Follows the pages of `?values=1`; a server that predates it (answers `{names}`) is read one record
   * at a time.
   */
  async getRecords(prefix: string, options: { signal?: AbortSignal } = {}): Promise<NamedRecord[]> {
    checkRecordPrefix(prefix);
    const out: NamedRecord[] = [];
    let after = '';
    for (let page = 0; page < MAX_RECORD_PAGES; page++) {
      const res = await this.#send(`${RECORDS_PREFIX}?prefix=${encodeURIComponent(prefix)}&values=1${after ? `&after=${encodeURIComponent(after)}` : ''}`, { method: 'GET' }, options.signal);
      const body = await this.#json(res, MAX_RECORD_PAGE_BYTES + 64 * 1024);
      if (res.status !== 200) throw this.#refused(res, body, 'listing records');
      const { records, next, names } = (typeof body === 'object' && body !== null ? body : {}) as { records?: unknown; next?: unknown; names?: unknown };
      if (records === undefined && Array.isArray(names) && page === 0) return readEachRecord(this, prefix, () => true, options);
      if (!Array.isArray(records)) throw new StoreError('store-protocol', `${this.location}: the record page is malformed`);
      for (const r of records as unknown[]) out.push(this.#pageEntry(r, prefix, after));
      if (out.length > MAX_RECORD_LIST) throw new StoreError('store-protocol', `${this.location}: more than ${MAX_RECORD_LIST} records under ${prefix}`);
      if (next === undefined) return out;
      // Each page must move forward, or a broken server would keep us here.
      if (typeof next !== 'string' || next !== out.at(-1)?.name || next <= after) throw new StoreError('store-protocol', `${this.location}: the record page's next name is malformed`);
      after = next;
    }
    throw new StoreError('store-protocol', `${this.location}: the record listing did not end after ${MAX_RECORD_PAGES} pages`);
  }

  #pageEntry(r: unknown, prefix: string, after: string): NamedRecord {
    const e = (typeof r === 'object' && r !== null ? r : {}) as { name?: unknown; value?: unknown; version?: unknown };
    if (typeof e.name !== 'string' || !isRecordName(e.name) || !e.name.startsWith(prefix) || e.name <= after || typeof e.version !== 'string' || !VERSION.test(e.version) || !('value' in e)) {
      throw new StoreError('store-protocol', `${this.location}: a record in the page is malformed`);
    }
    return { name: e.name, value: e.value, version: e.version };
  }

  #send(path: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
    return fetchWithTimeout(`${this.#base}${path}`, init, { fetch: this.#o.fetch ?? fetch, timeoutMs: this.#o.timeoutMs ?? 30_000, location: this.location, signal });
  }

  async #json(res: Response, max = MAX_BODY_BYTES + 1024): Promise<unknown> {
    const bytes = await readBodyBounded(res.body, max, `${this.location}: answer`);
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    } catch {
      throw new StoreError('store-protocol', `${this.location}: answered HTTP ${res.status} with something that is not JSON`);
    }
  }

  #refused(res: Response, body: unknown, action: string): StoreError {
    const info = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; message?: unknown };
    const why = typeof info.message === 'string' ? info.message.slice(0, 500) : 'no reason given';
    const message = `${this.location}: ${action} refused (${res.status}): ${why}`;
    if (res.status === 412) return new StoreError('store-conflict', message, { detail: why });
    if (res.status === 401 || res.status === 403) return new StoreError('store-unauthorized', message);
    if (res.status === 507) return new StoreError('store-no-space', message);
    if (res.status === 503 && info.error === 'store-read-only') return new StoreError('store-read-only', message);
    return new StoreError(res.status === 400 || res.status === 413 || res.status === 428 ? 'store-bad-input' : 'store-protocol', message);
  }
}
