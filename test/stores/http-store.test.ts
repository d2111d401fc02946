/**
 * The HTTP store end to end: a real `palisade serve` on 127.0.0.1 and raw fetch calls for the wire behaviour
 * (ETag/304, long poll, server-sent events, upload authentication and limits, graceful shutdown), plus a hostile
 * server for the client's bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpBundleStore, StoreError, sha256Digest } from '../../pipeline/stores/index.js';
import type { BundleDescriptor } from '../../pipeline/stores/index.js';
import { makeBundle, startServe, tempDir } from './helpers.js';
import type { ServeProcess } from './helpers.js';

const TOKEN = 'g-test-token-4c1f0e9a';

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StoreError);
  return (err as StoreError).code;
}

function put(url: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/v1/bundles`, { method: 'PUT', body, headers, duplex: 'half' } as RequestInit);
}

describe('palisade serve + HTTP client store', () => {
  let dir: { path: string; remove(): Promise<void> };
  let serve: ServeProcess;
  let client: HttpBundleStore;
  let first: BundleDescriptor;

  beforeAll(async () => {
    dir = await tempDir('http');
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    serve = await startServe(join(dir.path, 'store'), ['--token-file', tokenFile, '--max-upload-bytes', '65536']);
    client = new HttpBundleStore(serve.url, { token: TOKEN, waitSeconds: 10 });
    first = await client.publish({ serial: 1, bytes: makeBundle(1) });
  }, 30_000);
  afterAll(async () => {
    await serve?.stop();
    await dir?.remove();
  });

  it('latest carries an ETag and answers 304 to If-None-Match', async () => {
    const r1 = await fetch(`${serve.url}/v1/bundles/latest`);
    expect(r1.status).toBe(200);
    const etag = r1.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    expect(await r1.json()).toEqual(first);
    const r2 = await fetch(`${serve.url}/v1/bundles/latest`, { headers: { 'If-None-Match': etag! } });
    expect(r2.status).toBe(304);
    const r3 = await fetch(`${serve.url}/v1/bundles/latest`, { headers: { 'If-None-Match': '"something-else"' } });
    expect(r3.status).toBe(200);
    await r3.body?.cancel();
  });

  it('bundles by digest: ETag is the digest, 304 on a match, 404 for an unknown one', async () => {
    const r1 = await fetch(`${serve.url}/v1/bundles/${first.digest}`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('etag')).toBe(`"${first.digest}"`);
    expect(sha256Digest(new Uint8Array(await r1.arrayBuffer()))).toBe(first.digest);
    const r2 = await fetch(`${serve.url}/v1/bundles/${first.digest}`, { headers: { 'If-None-Match': `"${first.digest}"` } });
    expect(r2.status).toBe(304);
    const r3 = await fetch(`${serve.url}/v1/bundles/${sha256Digest(new Uint8Array([7]))}`);
    expect(r3.status).toBe(404);
    await r3.body?.cancel();
    const head = await fetch(`${serve.url}/v1/bundles/${first.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(first.size);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('a long poll returns 304 when nothing changes, and wakes up on a publish', async () => {
    const latest = await fetch(`${serve.url}/v1/bundles/latest`);
    const etag = latest.headers.get('etag')!;
    const current = (await latest.json()) as BundleDescriptor;
    const quiet = await fetch(`${serve.url}/v1/bundles/latest?wait=1s`, { headers: { 'If-None-Match': etag } });
    expect(quiet.status).toBe(304);

    const waiting = fetch(`${serve.url}/v1/bundles/latest?wait=30s`, { headers: { 'If-None-Match': etag } });
    await new Promise((r) => setTimeout(r, 200));
    const published = await client.publish({ serial: current.serial + 1, bytes: makeBundle(current.serial + 1) });
    const woke = await waiting;
    expect(woke.status).toBe(200);
    expect(await woke.json()).toEqual(published);
  }, 40_000);

  it('server-sent events announce each new latest', async () => {
    const ac = new AbortController();
    const res = await fetch(`${serve.url}/v1/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const before = (await client.latest())!;
    const next = await client.publish({ serial: before.serial + 1, bytes: makeBundle(before.serial + 1) });
    while (!text.includes(`"serial":${next.serial}`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    ac.abort();
    expect(text).toContain(`event: latest\nid: ${next.serial}\ndata: ${JSON.stringify(next)}`);
  });

  it('uploads without a token or with a wrong token are refused, and the token never reaches the log', async () => {
    const bytes = makeBundle(100);
    const none = await put(serve.url, bytes, {});
    expect(none.status).toBe(401);
    await none.body?.cancel();
    const wrong = await put(serve.url, bytes, { Authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    const basic = await put(serve.url, bytes, { Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` });
    expect(basic.status).toBe(401);
    await basic.body?.cancel();
    expect(await codeOf(new HttpBundleStore(serve.url, { token: 'nope' }).publish({ serial: 100, bytes }))).toBe('store-unauthorized');
    expect((await client.latest())!.serial).toBeLessThan(100);
    expect(serve.stderr()).not.toContain(TOKEN);
  });

  it('oversized uploads are refused, whether announced or streamed without a length', async () => {
    const big = makeBundle(200, '', 100_000);
    expect(await codeOf(client.publish({ serial: 200, bytes: big }))).toBe('store-too-large');
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += 16384;
        c.enqueue(new Uint8Array(16384));
        if (sent > 8 * 1024 * 1024) c.close();
      },
    });
    const res = await put(serve.url, endless, { Authorization: `Bearer ${TOKEN}` }).catch(() => undefined);
    // The server answers 413 and closes the connection without reading the rest (the client may see the close).
    if (res) expect(res.status).toBe(413);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    expect((await client.latest())!.serial).toBeLessThan(200);
  });

  it('uploads that are not bundles, or whose serial header lies, are refused', async () => {
    const junk = await put(serve.url, new TextEncoder().encode('not a bundle'), { Authorization: `Bearer ${TOKEN}` });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: string }).error).toBe('bad-bundle');
    const lying = await put(serve.url, makeBundle(300), { Authorization: `Bearer ${TOKEN}`, 'palisade-serial': '301' });
    expect(lying.status).toBe(400);
    await lying.body?.cancel();
  });

  it('a conflicting upload gets 409 with the current descriptor', async () => {
    const current = (await client.latest())!;
    const res = await put(serve.url, makeBundle(current.serial), { Authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { current: BundleDescriptor }).current).toEqual(current);
  });

  it('concurrent uploads of the same serial: exactly one is accepted', async () => {
    const current = (await client.latest())!;
    const serial = current.serial + 1;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      put(serve.url, makeBundle(serial, `racer-${i}`), { Authorization: `Bearer ${TOKEN}` }).then(async (r) => ({ status: r.status, body: (await r.json()) as BundleDescriptor }))));
    const accepted = answers.filter((a) => a.status === 201);
    expect(accepted).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(7);
    expect(await client.latest()).toEqual(accepted[0]!.body);
  });

  it('malformed requests get 4xx answers, never a 500, and the server keeps serving', async () => {
    const cases: Array<[string, RequestInit, number]> = [
      ['/v1/bundles/%E0%A4%A', {}, 400],
      ['/v1/bundles/latest?wait=forever', {}, 400],
      ['/v1/bundles/latest?wait=-1s', {}, 400],
      ['/v1/bundles/sha256:xyz', {}, 404],
      ['/v1/bundles/sha256%3A..%2F..%2Fetc%2Fpasswd', {}, 404],
      ['/v1/bundles/latest', { method: 'DELETE' }, 405],
      ['/v1/events', { method: 'POST' }, 405],
      ['/v2/', {}, 404],
      ['/v1/bundles', { method: 'PUT', headers: { Authorization: `Bearer ${TOKEN}`, 'palisade-expect-latest-serial': 'abc' }, body: makeBundle(900) }, 400],
    ];
    for (const [path, init, status] of cases) {
      const r = await fetch(`${serve.url}${path}`, init);
      expect(r.status, path).toBe(status);
      const body = (await r.json()) as { error: unknown };
      expect(typeof body.error, path).toBe('string');
    }
    expect((await fetch(`${serve.url}/v1/bundles/latest`)).status).toBe(200);
  });

  it('SIGTERM answers waiting long polls and exits 0', async () => {
    const d = await tempDir('http-term');
    const s = await startServe(d.path);
    try {
      const waiting = fetch(`${s.url}/v1/bundles/latest?wait=60s`);
      await new Promise((r) => setTimeout(r, 200));
      const code = await s.stop();
      const res = await waiting;
      expect(res.status).toBe(404); // an empty store, answered at shutdown instead of after 60 s
      expect(code).toBe(0);
      expect(s.stderr()).toContain('SIGTERM');
    } finally {
      await d.remove();
    }
  }, 20_000);

  it('a read-only server (no token) refuses every upload', async () => {
    const d = await tempDir('http-ro');
    const s = await startServe(d.path, [], { PALISADE_STORE_TOKEN: '' });
    try {
      const res = await put(s.url, makeBundle(1), { Authorization: 'Bearer anything' });
      expect(res.status).toBe(403);
      await res.body?.cancel();
    } finally {
      await s.stop();
      await d.remove();
    }
  });
});

describe('HTTP client store against a hostile server', () => {
  const digest = sha256Digest(new TextEncoder().encode('what the descriptor promised'));
  let url: string;
  let close: () => Promise<void>;
  let streamed = 0;

  beforeAll(async () => {
    const server = createServer((req, res) => {
      if (req.url === '/v1/bundles/latest') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ serial: 1, digest, size: 28, extra: 'x'.repeat(10) }));
        return;
      }
      if (req.url === `/v1/bundles/${digest}`) {
        // Endless data, no Content-Length.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        const chunk = Buffer.alloc(65536, 1);
        const pump = (): void => {
          while (streamed < 256 * 1024 * 1024 && res.write(chunk)) streamed += chunk.byteLength;
          if (streamed < 256 * 1024 * 1024) res.once('drain', pump);
          else res.end();
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
      if (req.url === '/v1/bundles/sha256:' + '0'.repeat(64)) {
        res.writeHead(200, { 'Content-Length': String(10 * 1024 * 1024) });
        res.end();
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  });
  afterAll(async () => {
    await close();
  });

  it('refuses a body larger than the descriptor says (endless data) and stops reading', async () => {
    const store = new HttpBundleStore(url);
    const d = (await store.latest())!;
    expect(d).toEqual({ serial: 1, digest, size: 28 });
    expect(await codeOf(store.get(d.digest, { expectedSize: d.size }))).toBe('store-too-large');
    expect(streamed).toBeLessThan(256 * 1024 * 1024);
  });

  it('refuses an announced Content-Length above the bound before reading', async () => {
    const store = new HttpBundleStore(url);
    expect(await codeOf(store.get(`sha256:${'0'.repeat(64)}`, { maxBytes: 1024 * 1024 }))).toBe('store-too-large');
  });

  it('a 404 that is not the store saying "empty" is a wrong URL, not an empty store', async () => {
    expect(await codeOf(new HttpBundleStore(`${url}/elsewhere`).latest())).toBe('store-protocol');
  });

  it('reports an unreachable server as store-unreachable', async () => {
    const store = new HttpBundleStore('http://127.0.0.1:9', { timeoutMs: 2000 });
    expect(await codeOf(store.latest())).toBe('store-unreachable');
  });
});
