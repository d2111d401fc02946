/**
 * Regressions for store failures that used to end as "internal error" (or worse): a full store directory (real
 * tmpfs, real ENOSPC) leaked a temp file per failed upload and answered 500; a read-only filesystem said ENOENT;
 * `file://otherhost/x` crashed with exit 70. Every answer of `palisade serve` here is also checked for the store's
 * path, which error bodies must never carry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBundleStore, HttpBundleStore, StoreError, openStore } from '../../pipeline/stores/index.js';
import { TEMPLATE_POLICIES, makeBundle, mountTmpfs, runCli, startServe, storeErrorOf, tempDir } from './helpers.js';

const TOKEN = 'failures-token-91c2';

function put(url: string, bytes: Uint8Array): Promise<Response> {
  return fetch(`${url}/v1/bundles`, { method: 'PUT', body: bytes, headers: { Authorization: `Bearer ${TOKEN}` } });
}

describe('a full store directory (tmpfs, ENOSPC)', () => {
  let fs: Awaited<ReturnType<typeof mountTmpfs>>;
  beforeAll(async () => {
    fs = await mountTmpfs('512k');
  });
  afterAll(async () => {
    await fs?.remove();
  });

  it('regression: serve answers 507 with a reason and no path, leaves no temp file, and keeps serving', async () => {
    const root = join(fs.path, 'served');
    const serve = await startServe(root, ['--max-upload-bytes', String(4 * 1024 * 1024)], { PALISADE_STORE_TOKEN: TOKEN });
    try {
      const first = await put(serve.url, makeBundle(1, '', 20_000));
      expect(first.status).toBe(201);
      for (let attempt = 0; attempt < 3; attempt++) {
        const res = await put(serve.url, makeBundle(2, `big-${attempt}`, 1024 * 1024));
        const text = await res.text();
        expect(res.status, text).toBe(507);
        const body = JSON.parse(text) as { error: string; message: string };
        expect(body.error).toBe('store-no-space');
        expect(body.message).toContain('full (ENOSPC)');
        expect(body.message).toContain('nothing was published');
        expect(text).not.toContain(fs.path);
        expect(await readdir(join(root, 'tmp'))).toEqual([]);
      }
      const client = new HttpBundleStore(serve.url, { token: TOKEN });
      const viaClient = await storeErrorOf(client.publish({ serial: 2, bytes: makeBundle(2, 'client', 1024 * 1024) }));
      expect(viaClient.code).toBe('store-no-space');
      expect(viaClient.message).toContain('upload refused (507 store-no-space)');
      const latest = (await (await fetch(`${serve.url}/v1/bundles/latest`)).json()) as { serial: number };
      expect(latest.serial).toBe(1);
      // The space the failed uploads took is free again: a bundle that fits goes in.
      expect((await put(serve.url, makeBundle(2, 'small', 20_000))).status).toBe(201);
      expect(serve.stderr()).toContain('store-no-space');
    } finally {
      await serve.stop();
    }
  }, 30_000);

  it('the store itself says store-no-space naming its directory, and removes its temp file', async () => {
    const store = new FsBundleStore(join(fs.path, 'direct'));
    const err = await storeErrorOf(store.publish({ serial: 1, bytes: makeBundle(1, '', 2 * 1024 * 1024) }));
    expect(err.code).toBe('store-no-space');
    expect(err.message).toContain(`store directory ${join(fs.path, 'direct')}`);
    expect(err.detail).not.toContain(fs.path);
    expect(await readdir(join(fs.path, 'direct', 'tmp'))).toEqual([]);
    expect(await store.latest()).toBeUndefined();
  });
});

describe('a store filesystem that runs out of inodes at each step of a publish', () => {
  it('regression: publish fails (nothing published, no temp left) or succeeds, and latest agrees either way', async () => {
    const outcomes: string[] = [];
    // Each extra inode lets the publish get one file further: store dirs, blob, head record, latest.json hint.
    for (let inodes = 6; inodes <= 11; inodes++) {
      const fs = await mountTmpfs('1m', inodes);
      try {
        const store = new FsBundleStore(join(fs.path, 'store'));
        const bytes = makeBundle(1);
        const published = await store.publish({ serial: 1, bytes }).then((d) => d, (e: unknown) => e);
        if (published instanceof StoreError) {
          expect(published.code).toBe('store-no-space');
          expect(await store.latest()).toBeUndefined();
          outcomes.push('refused');
        } else {
          expect(await store.latest()).toEqual(published);
          const hint = await readdir(join(fs.path, 'store')).then((names) => names.includes('latest.json'));
          outcomes.push(hint ? 'published' : 'published without hint');
        }
        expect(await readdir(join(fs.path, 'store', 'tmp')).catch(() => [])).toEqual([]);
      } finally {
        await fs.remove();
      }
    }
    // The case that used to say "nothing was published" although the head was linked.
    expect(outcomes).toContain('published without hint');
    expect(outcomes).toContain('refused');
    expect(outcomes.at(-1)).toBe('published');
  }, 30_000);
});

describe('a read-only store filesystem (tmpfs remounted ro)', () => {
  let fs: Awaited<ReturnType<typeof mountTmpfs>>;
  beforeAll(async () => {
    fs = await mountTmpfs('1m');
    await new FsBundleStore(join(fs.path, 'existing')).publish({ serial: 1, bytes: makeBundle(1) });
    await fs.readOnly();
  });
  afterAll(async () => {
    await fs?.remove();
  });

  it('regression: a new store says EROFS, not ENOENT', async () => {
    const root = join(fs.path, 'new', 'store');
    const err = await storeErrorOf(new FsBundleStore(root).publish({ serial: 1, bytes: makeBundle(1) }));
    expect(err.code).toBe('store-read-only');
    expect(err.message).toBe(`store directory ${root} is on a read-only filesystem (EROFS)`);
  });

  it('palisade publish to it exits 1 with that one line', async () => {
    const root = join(fs.path, 'cli-store');
    const key = await tempDir('ro-key');
    try {
      expect((await runCli(['keygen', '--out', join(key.path, 'k')])).code).toBe(0);
      const r = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', root, '--key', join(key.path, 'k.key')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`palisade: store directory ${root} is on a read-only filesystem (EROFS) [store-read-only]\n`);
    } finally {
      await key.remove();
    }
  }, 30_000);

  it('serve keeps serving reads and answers uploads 503 with the reason, without the path', async () => {
    const serve = await startServe(join(fs.path, 'existing'), [], { PALISADE_STORE_TOKEN: TOKEN });
    try {
      expect((await new HttpBundleStore(serve.url).latest())?.serial).toBe(1);
      const res = await put(serve.url, makeBundle(2));
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({ error: 'store-read-only', message: "the store's filesystem is read-only (EROFS)" });
      expect(text).not.toContain(fs.path);
      const viaClient = await storeErrorOf(new HttpBundleStore(serve.url, { token: TOKEN }).publish({ serial: 2, bytes: makeBundle(2) }));
      expect(viaClient.code).toBe('store-read-only');
    } finally {
      await serve.stop();
    }
  }, 30_000);
});

describe('store URLs', () => {
  it('regression: file://otherhost/x is refused naming the host, and publish exits 1 (not 70)', async () => {
    const err = (() => {
      try {
        openStore('file://otherhost/x');
      } catch (e) {
        return e as StoreError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(StoreError);
    expect(err!.code).toBe('store-bad-url');
    expect(err!.message).toBe("file URLs must name a local path (host 'otherhost')");
    expect(openStore('file://localhost/srv/bundles').location).toBe('/srv/bundles');
    const key = await tempDir('url-key');
    try {
      expect((await runCli(['keygen', '--out', join(key.path, 'k')])).code).toBe(0);
      const r = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', 'file://otherhost/x', '--key', join(key.path, 'k.key')]);
      expect(r.stderr).toBe("palisade: file URLs must name a local path (host 'otherhost') [store-bad-url]\n");
      expect(r.code).toBe(1);
    } finally {
      await key.remove();
    }
  }, 30_000);
});

describe('error answers of palisade serve carry no server path', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('no-paths');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('regression: a 409 conflict names the serials and the current descriptor, not the store directory', async () => {
    const root = join(dir.path, 'conflict-store');
    const serve = await startServe(root, [], { PALISADE_STORE_TOKEN: TOKEN });
    try {
      expect((await put(serve.url, makeBundle(5))).status).toBe(201);
      const res = await put(serve.url, makeBundle(3));
      const text = await res.text();
      expect(res.status).toBe(409);
      const body = JSON.parse(text) as { error: string; message: string; current: { serial: number } };
      expect(body.error).toBe('store-conflict');
      expect(body.message).toBe('publish refused: serial 3 is not above the latest serial 5');
      expect(body.current.serial).toBe(5);
      expect(text).not.toContain(dir.path);
      // A damaged record: the answer says so without naming the file.
      await writeFile(join(root, 'heads', '000000000001.json'), '{"damaged": true');
      const list = await fetch(`${serve.url}/v1/bundles`);
      const listText = await list.text();
      expect(list.status).toBe(500);
      expect(JSON.parse(listText).error).toBe('store-corrupt');
      expect(listText).not.toContain(dir.path);
    } finally {
      await serve.stop();
    }
  }, 30_000);

  it('a --trust file that disappears makes uploads 503 (the gate failed), never echoing its path', async () => {
    const keyDir = join(dir.path, 'trust');
    expect((await runCli(['keygen', '--out', keyDir])).code).toBe(0);
    const serve = await startServe(join(dir.path, 'trust-store'), ['--trust', `${keyDir}.pub`], { PALISADE_STORE_TOKEN: TOKEN });
    try {
      await writeFile(`${keyDir}.pub`, 'not a key any more');
      const res = await put(serve.url, makeBundle(1));
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text).error).toBe('verification-unavailable');
      expect(text).not.toContain(dir.path);
      expect(serve.stderr()).toContain('cannot load --trust');
    } finally {
      await serve.stop();
    }
  }, 30_000);
});
