/**
 * The HTTP face of a bundle store (`palisade serve`): reads from a cached latest pointer, long polls and server-sent
 * events for changes, a paginated history, and authenticated, size-bounded uploads that publish through the store's
 * own CAS. Error answers carry a stable code and a reason, never a path of the server (see http-error-answer.ts).
 */
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoreError } from './errors.js';
import { isDigest, isSerial, sha256Digest } from './digest.js';
import { bearerMatches } from './http-auth.js';
import { readRequestBounded } from './bounded-read.js';
import { LatestFeed } from './latest-feed.js';
import { storeErrorAnswer } from './http-error-answer.js';
import { API_PREFIX, DEFAULT_LIST_LIMIT, EXPECT_LATEST_HEADER, MAX_LIST_LIMIT, SERIAL_HEADER, latestEtag, parseWait } from './http-protocol.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
import type { BundleDescriptor, BundlePage, BundleStore, PagedBundleSource, StreamingBundleSource, UnlistedBundleStore } from './types.js';
import { BundleError } from '../core/bundle/errors.js';
import { RECORDS_PREFIX, serveRecordRequest } from './http-records.js';
import type { RecordStore } from './records.js';

/** Options of {@link startStoreServer}. */
export interface StoreServerOptions {
  readonly store: BundleStore;
  /** Reads the serial from an uploaded bundle's manifest. @throws for a bundle that is not one. */
  readonly readSerial: (bytes: Uint8Array) => number;
  /**
   * Extra gate for uploads after the token and size checks, e.g. signature verification against a trust root.
   * Throw a BundleError to refuse: its `code` and message go back to the uploader (status 422). Any other error
   * means the gate itself failed (say, an unreadable trust root): it is logged and the uploader gets 503.
   */
  readonly checkUpload?: (bytes: Uint8Array) => Promise<void>;
  /** The upload bearer token; without one, uploads are refused. */
  readonly token?: string | undefined;
  /** Largest upload accepted, in bytes. */
  readonly maxUploadBytes?: number;
  /** How often the server re-reads the store's latest pointer, in milliseconds (default 250). */
  readonly pollMs?: number;
  /** Most concurrent event-stream clients (default 1024). */
  readonly maxEventClients?: number;
  /** One line per upload, refusal or failure; never carries a token. */
  readonly log?: (line: string) => void;
  /** The store's records (rollout state, node targets and statuses), served under /v1/records; absent: no routes. */
  readonly records?: RecordStore;
}

/** A running store server. */
export interface RunningStoreServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, answers waiting long polls, ends event streams, lets uploads finish (up to `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts serving `store` on host:port (port 0 picks a free one).
 * @throws the listen error (EADDRINUSE, EACCES) or the store's first read error.
 */
export async function startStoreServer(options: StoreServerOptions, host: string, port: number): Promise<RunningStoreServer> {
  const log = options.log ?? (() => undefined);
  const feed = new LatestFeed(() => options.store.latest(), options.pollMs ?? 250,
    (err) => log(`store read failed: ${(err as Error).message}`));
  await feed.start();
  const events = new Set<ServerResponse>();
  const closing = new AbortController();
  const handler = new StoreHandler(options, feed, events, closing.signal, log);
  const server = createServer((req, res) => {
    handler.handle(req, res).catch((err: unknown) => {
      log(`${req.method} ${String(req.url).slice(0, 200)}: ${(err as Error).message}`);
      if (res.headersSent) return void res.destroy();
      if (err instanceof StoreError) {
        const { status, body } = storeErrorAnswer(err);
        return sendJson(res, status, body);
      }
      sendJson(res, 500, { error: 'internal', message: 'internal error; see the server log' });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostPart}:${addr.port}`,
    server,
    async close(graceMs = 10_000): Promise<void> {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      feed.stop();
      for (const res of events) res.end();
      // Keep-alive connections turn idle as their last answers go out; close each as soon as it does.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
    },
  };
}

class StoreHandler {
  constructor(
    private readonly options: StoreServerOptions,
    private readonly feed: LatestFeed,
    private readonly events: Set<ServerResponse>,
    private readonly closing: AbortSignal,
    private readonly log: (line: string) => void,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://store');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return sendJson(res, 400, { error: 'bad-request', message: 'malformed percent-encoding in the path' });
    }
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    // While shutting down, tell keep-alive clients not to send another request on this connection.
    if (this.closing.aborted) res.setHeader('Connection', 'close');
    if (path === `${API_PREFIX}/latest` && read) return this.latest(req, res, url);
    if (path === API_PREFIX && (method === 'PUT' || method === 'POST')) return this.upload(req, res);
    if (path === API_PREFIX && read) return this.list(req, res, url);
    if (path.startsWith(`${API_PREFIX}/`) && read) return this.blob(req, res, path.slice(API_PREFIX.length + 1));
    if (path.startsWith(`${API_PREFIX}/`) && method === 'PUT') return this.uploadUnlisted(req, res, path.slice(API_PREFIX.length + 1));
    if (path === '/v1/events' && method === 'GET') return this.eventStream(res);
    if (this.options.records && (path === RECORDS_PREFIX || path.startsWith(`${RECORDS_PREFIX}/`))) {
      return serveRecordRequest(req, res, path, url, this.options.records, this.options.token, this.log);
    }
    const known = path === API_PREFIX || path.startsWith(`${API_PREFIX}/`) || path === '/v1/events';
    return sendJson(res, known ? 405 : 404, { error: known ? 'method-not-allowed' : 'not-found', message: `${method.slice(0, 16)} ${path.slice(0, 200)}` });
  }

  /** One page of the history: `?limit=` (default and maximum in http-protocol.ts) and the opaque `?after=` cursor. */
  private async list(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const limitParam = url.searchParams.get('limit');
    const limit = limitParam === null ? DEFAULT_LIST_LIMIT : /^[1-9]\d{0,5}$/.test(limitParam) ? Number(limitParam) : NaN;
    if (!(limit <= MAX_LIST_LIMIT)) return sendJson(res, 400, { error: 'bad-request', message: `limit must be 1..${MAX_LIST_LIMIT}` });
    const after = url.searchParams.get('after') ?? undefined;
    if (after !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(after)) return sendJson(res, 400, { error: 'bad-request', message: 'malformed after cursor' });
    const page = await listPage(this.options.store, after, limit);
    // A query-only reference resolves against the URL the client asked for, so it holds behind a path-prefix proxy.
    if (page.next !== undefined) res.setHeader('Link', `<?limit=${limit}&after=${page.next}>; rel="next"`);
    sendJson(res, 200, { bundles: page.bundles }, req.method === 'HEAD');
  }

  private async latest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const inm = req.headers['if-none-match'];
    const waitParam = url.searchParams.get('wait');
    let current = this.feed.current;
    if (waitParam !== null) {
      const waitMs = parseWait(waitParam);
      if (waitMs === undefined) return sendJson(res, 400, { error: 'bad-request', message: 'wait must look like 30s or 1500ms' });
      // Wait while the client already has what we would send, or the store is still empty.
      const unchanged = (d: BundleDescriptor | undefined): boolean => d === undefined || latestEtag(d) === inm;
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      res.on('close', onClose);
      // Shutdown needs no signal here: stopping the feed wakes every waiter.
      current = await this.feed.waitForChange(unchanged, waitMs, gone.signal);
      res.off('close', onClose);
      if (res.destroyed) return;
    }
    if (!current) return sendJson(res, 404, { error: 'empty', message: 'no bundle published yet' });
    const etag = latestEtag(current);
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (inm === etag) return void res.writeHead(304).end();
    sendJson(res, 200, current, req.method === 'HEAD');
  }

  private async blob(req: IncomingMessage, res: ServerResponse, digest: string): Promise<void> {
    if (!isDigest(digest)) return sendJson(res, 404, { error: 'not-found', message: 'expected /v1/bundles/sha256:<hex>' });
    const etag = `"${digest}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ETag: etag }).end();
    const store = this.options.store as BundleStore & Partial<StreamingBundleSource>;
    const headers = { 'Content-Type': 'application/octet-stream', ETag: etag, 'Cache-Control': 'public, max-age=31536000, immutable' };
    try {
      if (store.openBlob) {
        // Streamed from disk: concurrent downloads of a large bundle are not each held in memory.
        const { size, stream } = await store.openBlob(digest);
        res.writeHead(200, { ...headers, 'Content-Length': size });
        if (req.method === 'HEAD') {
          stream.destroy();
          res.end();
          return;
        }
        await pipeline(stream, res);
        return;
      }
      const bytes = await store.get(digest);
      res.writeHead(200, { ...headers, 'Content-Length': bytes.byteLength });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'store-not-found') return sendJson(res, 404, { error: 'not-found', message: `no bundle ${digest}` });
      // A client that went away mid-download is not a server error.
      if (res.headersSent) return void res.destroy();
      throw err;
    }
  }

  /** Answers a refused upload; the body was not read, so the connection is closed rather than drained. */
  private refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string, message: string): undefined {
    this.log(`${req.method} ${API_PREFIX} ${status} ${error}`);
    res.setHeader('Connection', 'close');
    sendJson(res, status, { error, message });
    return undefined;
  }

  /**
   * The front half of every upload: the token, the size bound, the body, its serial and the server's upload gate.
   * @returns the bundle, or undefined when the request was refused (and answered).
   */
  private async receive(req: IncomingMessage, res: ServerResponse): Promise<{ bytes: Uint8Array; serial: number } | undefined> {
    const token = this.options.token;
    if (token === undefined) return this.refuse(req, res, 403, 'uploads-disabled', 'this server has no upload token configured');
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="palisade"');
      return this.refuse(req, res, 401, 'unauthorized', 'missing or wrong bearer token');
    }
    const max = this.options.maxUploadBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) return this.refuse(req, res, 413, 'too-large', `upload limit is ${max} bytes`);
    const bytes = await readRequestBounded(req, max);
    if (!bytes) return this.refuse(req, res, 413, 'too-large', `upload limit is ${max} bytes`);
    let serial: number;
    try {
      serial = this.options.readSerial(bytes);
    } catch (err) {
      return this.refuse(req, res, 400, 'bad-bundle', (err as Error).message);
    }
    if (this.options.checkUpload) {
      try {
        await this.options.checkUpload(bytes);
      } catch (err) {
        if (err instanceof BundleError) return this.refuse(req, res, 422, err.code, err.message);
        this.log(`upload verification failed: ${(err as Error).message}`);
        return this.refuse(req, res, 503, 'verification-unavailable', 'the server cannot verify uploads right now; see its log');
      }
    }
    const claimed = req.headers[SERIAL_HEADER];
    if (claimed !== undefined && Number(claimed) !== serial) {
      return this.refuse(req, res, 400, 'serial-mismatch', `header says serial ${String(claimed)}, the bundle says ${serial}`);
    }
    return { bytes, serial };
  }

  private async upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await this.receive(req, res);
    if (!received) return;
    const { bytes, serial } = received;
    const expectRaw = req.headers[EXPECT_LATEST_HEADER];
    const expect = expectRaw === undefined ? undefined : Number(expectRaw);
    if (expect !== undefined && !(expect === 0 || isSerial(expect))) return void this.refuse(req, res, 400, 'bad-request', `bad ${EXPECT_LATEST_HEADER}`);
    await this.answerStored(req, res, () => this.options.store.publish({ serial, bytes }, expect === undefined ? {} : { expectLatestSerial: expect }), true);
  }

  /**
   * `PUT /v1/bundles/sha256:<hex>`: stores a bundle that `latest` does not name (a rollback bundle), after the same
   * checks as an upload; the digest in the path must be the bundle's.
   */
  private async uploadUnlisted(req: IncomingMessage, res: ServerResponse, digest: string): Promise<void> {
    const store = this.options.store as BundleStore & Partial<UnlistedBundleStore>;
    if (!isDigest(digest)) return void this.refuse(req, res, 404, 'not-found', 'expected /v1/bundles/sha256:<hex>');
    if (!store.storeUnlisted) return void this.refuse(req, res, 405, 'method-not-allowed', 'this store keeps no unlisted bundles');
    const received = await this.receive(req, res);
    if (!received) return;
    if (sha256Digest(received.bytes) !== digest) return void this.refuse(req, res, 400, 'digest-mismatch', 'the bundle does not hash to the digest in the path');
    await this.answerStored(req, res, () => store.storeUnlisted!({ serial: received.serial, bytes: received.bytes }), false);
  }

  private async answerStored(req: IncomingMessage, res: ServerResponse, store: () => Promise<BundleDescriptor>, listed: boolean): Promise<void> {
    try {
      const d = await store();
      if (listed) await this.feed.refresh();
      this.log(`${req.method} ${API_PREFIX} 201 serial=${d.serial} ${d.digest}${listed ? '' : ' (unlisted)'}`);
      sendJson(res, 201, d);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      const { status, body } = storeErrorAnswer(err);
      // The log gets the full message (with the store path); the uploader only the location-free reason.
      this.log(`${req.method} ${API_PREFIX} ${status} ${err.code}: ${err.message}`);
      sendJson(res, status, body);
    }
  }

  private eventStream(res: ServerResponse): void {
    if (this.events.size >= (this.options.maxEventClients ?? 1024)) {
      return sendJson(res, 503, { error: 'busy', message: 'too many event-stream clients' });
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (d: BundleDescriptor | undefined): void => {
      if (d) res.write(`event: latest\nid: ${d.serial}\ndata: ${JSON.stringify(d)}\n\n`);
    };
    send(this.feed.current);
    const unsubscribe = this.feed.subscribe(send);
    // A comment line every 15 s keeps proxies from timing the stream out.
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    this.events.add(res);
    res.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      this.events.delete(res);
    });
  }
}

/** A page from a store that pages itself, else from its full list (cursor: the last serial of the page). */
async function listPage(store: BundleStore & Partial<PagedBundleSource>, after: string | undefined, limit: number): Promise<BundlePage> {
  if (store.listPage) return store.listPage({ limit, ...(after === undefined ? {} : { after }) });
  if (after !== undefined && !/^\d{1,16}$/.test(after)) throw new StoreError('store-bad-input', 'malformed cursor', { detail: 'not a listing cursor of this store' });
  const from = after === undefined ? 0 : Number(after);
  const rest = (await store.list()).filter((d) => d.serial > from);
  const bundles = rest.slice(0, limit);
  return { bundles, next: rest.length > limit ? String(bundles[bundles.length - 1]!.serial) : undefined };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(headOnly ? undefined : text);
}
