/**
 * Store URLs choose the implementation; the filesystem store's pointer files stay trustworthy when the hint lags
 * or a record is damaged; `palisade serve` notices bundles published straight into its directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBundleStore, HttpBundleStore, OciBundleStore, StoreError, openStore } from '../../pipeline/stores/index.js';
import { makeBundle, startServe, tempDir } from './helpers.js';

describe('openStore', () => {
  it('maps each URL form to its store', () => {
    expect(openStore('/var/lib/palisade/store')).toBeInstanceOf(FsBundleStore);
    expect(openStore('relative/store')).toBeInstanceOf(FsBundleStore);
    const fileStore = openStore('file:///srv/bundles');
    expect(fileStore).toBeInstanceOf(FsBundleStore);
    expect(fileStore.location).toBe('/srv/bundles');
    expect(openStore('http://127.0.0.1:8080')).toBeInstanceOf(HttpBundleStore);
    expect(openStore('https://bundles.example.com/prefix')).toBeInstanceOf(HttpBundleStore);
    expect(openStore('oci://127.0.0.1:5000/palisade/bundles')).toBeInstanceOf(OciBundleStore);
    expect(openStore('oci://registry.example.com/team/bundles').location).toBe('oci://registry.example.com/team/bundles');
  });

  it('refuses unknown schemes, malformed OCI URLs and credentials in URLs', () => {
    const codeOf = (url: string): string => {
      try {
        openStore(url);
      } catch (err) {
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).message).not.toContain('s3cret');
        return (err as StoreError).code;
      }
      return 'opened';
    };
    expect(codeOf('ftp://host/x')).toBe('store-bad-url');
    expect(codeOf('oci://registry.example.com')).toBe('store-bad-url');
    expect(codeOf('oci://registry.example.com/UPPER/case')).toBe('store-bad-url');
    expect(codeOf('https://user:s3cret@bundles.example.com')).toBe('store-bad-url');
    expect(codeOf('')).toBe('store-bad-url');
  });
});

describe('filesystem store pointer files', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('pointer');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('a lagging latest.json hint never yields a stale latest', async () => {
    const store = new FsBundleStore(join(dir.path, 'lag'));
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    const oldHint = await readFile(join(store.root, 'latest.json'));
    const three = await store.publish({ serial: 3, bytes: makeBundle(3) });
    // As if the publisher of serial 3 died before its hint landed, or an older publisher's hint landed last.
    await writeFile(join(store.root, 'latest.json'), oldHint);
    expect(await store.latest()).toEqual(three);
    const err = await store.publish({ serial: 2, bytes: makeBundle(2) }).catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('store-conflict');
  });

  it('a damaged pointer is reported as store-corrupt, not taken at face value', async () => {
    const store = new FsBundleStore(join(dir.path, 'damaged'));
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    await writeFile(join(store.root, 'heads', '000000000001.json'), '{"serial": 1, "digest": "sha256:nope"');
    const err = await store.latest().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store-corrupt');
    expect((err as StoreError).message).toContain('000000000001.json');
  });
});

describe('palisade serve and its directory', () => {
  it('a bundle published straight into the directory wakes long polls', async () => {
    const d = await tempDir('serve-dir');
    const serve = await startServe(d.path);
    try {
      const store = new FsBundleStore(d.path);
      await store.publish({ serial: 1, bytes: makeBundle(1) });
      const client = new HttpBundleStore(serve.url, { waitSeconds: 20 });
      const ac = new AbortController();
      const seen = (async () => {
        for await (const desc of client.watch(1, { signal: ac.signal })) {
          ac.abort();
          return desc;
        }
        return undefined;
      })();
      await new Promise((r) => setTimeout(r, 300));
      const two = await store.publish({ serial: 2, bytes: makeBundle(2) });
      expect(await seen).toEqual(two);
    } finally {
      await serve.stop();
      await d.remove();
    }
  }, 30_000);
});
