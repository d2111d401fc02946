/**
 * The HTTP client store against a hostile or broken server (a local node:http server): regressions for a stalled
 * download that ended as "internal error" (now a timeout naming the URL and the deadline), and bounds on what a
 * server may answer for `latest` and the listing (huge headers, huge bodies, next-page links that leave the store
 * or loop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpBundleStore, sha256Digest } from '../../pipeline/stores/index.js';
import { storeErrorOf } from './helpers.js';

const digest = sha256Digest(new TextEncoder().encode('stalled bundle'));
const descriptor = (serial: number): { serial: number; digest: string; size: number } => ({ serial, digest, size: 100 });

describe('HTTP client store against a hostile server', () => {
  let url: string;
  let close: () => Promise<void>;
  const stalled = new Set<ServerResponse>();
  let eagerPolls = 0;

  beforeAll(async () => {
    const server = createServer((req, res) => {
      const path = req.url ?? '/';
      const json = (body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (path === `/stall/v1/bundles/${digest}`) {
        // Headers and a few bytes, then nothing: the connection stays open.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '100' });
        res.write(Buffer.alloc(10));
        stalled.add(res);
        return;
      }
      if (path === '/stall/v1/bundles/latest') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"serial":');
        stalled.add(res);
        return;
      }
      if (path.startsWith('/eager/v1/bundles/latest')) {
        // Ignores ?wait= and answers at once, always the same descriptor.
        eagerPolls++;
        return json(descriptor(1));
      }
      if (path === '/big-headers/v1/bundles/latest') return json(descriptor(1), { 'X-Padding': 'a'.repeat(64 * 1024) });
      if (path === '/big-body/v1/bundles/latest') return json({ ...descriptor(1), padding: 'a'.repeat(1024 * 1024) });
      if (path.startsWith('/offsite/v1/bundles')) {
        return json({ bundles: [descriptor(1)] }, { Link: '<http://elsewhere.example/v1/bundles?after=1>; rel="next"' });
      }
      if (path.startsWith('/loop/v1/bundles')) return json({ bundles: [descriptor(1)] }, { Link: '</loop/v1/bundles?after=1>; rel="next"' });
      if (path.startsWith('/pages/v1/bundles')) {
        const after = Number(new URL(path, 'http://x').searchParams.get('after') ?? 0);
        // As palisade serve writes it: a query-only reference, which must resolve under the /pages prefix.
        const next: Record<string, string> = after < 2 ? { Link: `<?after=${after + 1}>; rel="next"` } : {};
        return json({ bundles: [descriptor(after + 1)] }, next);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  });
  afterAll(async () => {
    await close();
  });

  it('regression: a download that stalls after its headers is store-timeout naming the URL and the deadline', async () => {
    const store = new HttpBundleStore(`${url}/stall`, { timeoutMs: 400 });
    const err = await storeErrorOf(store.get(digest, { expectedSize: 100 }));
    expect(err.code).toBe('store-timeout');
    expect(err.message).toContain(`${url}/stall/v1/bundles/${digest}`);
    expect(err.message).toContain('within the 400 ms deadline');
  });

  it('a latest answer that stalls mid-body is store-timeout too', async () => {
    const err = await storeErrorOf(new HttpBundleStore(`${url}/stall`, { timeoutMs: 400 }).latest());
    expect(err.code).toBe('store-timeout');
    expect(err.message).toContain(`${url}/stall/v1/bundles/latest`);
  });

  it('huge headers for latest are store-protocol, a huge body store-too-large', async () => {
    const headers = await storeErrorOf(new HttpBundleStore(`${url}/big-headers`).latest());
    expect(headers.code).toBe('store-protocol');
    expect(headers.message).toContain('headers larger than this client accepts');
    expect((await storeErrorOf(new HttpBundleStore(`${url}/big-body`).latest())).code).toBe('store-too-large');
  });

  it('the listing follows next links on the same store only, and refuses a loop', async () => {
    expect((await new HttpBundleStore(`${url}/pages`).list()).map((d) => d.serial)).toEqual([1, 2, 3]);
    const offsite = await storeErrorOf(new HttpBundleStore(`${url}/offsite`).list());
    expect(offsite.code).toBe('store-protocol');
    expect(offsite.message).toContain('leaves this store (http://elsewhere.example');
    const loop = await storeErrorOf(new HttpBundleStore(`${url}/loop`).list());
    expect(loop.code).toBe('store-protocol');
    expect(loop.message).toContain('goes back from serial 1 to 1');
  });

  it('watch against a server that ignores ?wait= does not spin: polls without news are spaced', async () => {
    const ac = new AbortController();
    const watching = (async () => {
      for await (const d of new HttpBundleStore(`${url}/eager`, { minPollIntervalMs: 60_000 }).watch(1, { signal: ac.signal })) return d;
      return undefined;
    })();
    while (eagerPolls === 0) await new Promise((r) => setTimeout(r, 20));
    // Room for a busy loop to show itself (it would make thousands of requests); a spaced one makes none.
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect(await watching).toBeUndefined();
    expect(eagerPolls).toBe(1);
  });
});
