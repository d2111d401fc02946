/**
 * The BundleStore contract, run against all three stores: the filesystem store, the HTTP client against a real
 * `palisade serve`, and the OCI store against the real docker-registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { FsBundleStore, HttpBundleStore, OciBundleStore, StoreError, sha256Digest } from '../../pipeline/stores/index.js';
import type { BundleDescriptor, BundleStore } from '../../pipeline/stores/index.js';
import { makeBundle, startRegistry, startServe, tempDir } from './helpers.js';

interface Fixture {
  open(): Promise<BundleStore>;
  close(): Promise<void>;
}

const TOKEN = randomBytes(16).toString('hex');

async function fsFixture(): Promise<Fixture> {
  const dirs: Array<{ remove(): Promise<void> }> = [];
  return {
    async open() {
      const d = await tempDir('fs');
      dirs.push(d);
      return new FsBundleStore(d.path);
    },
    async close() {
      for (const d of dirs) await d.remove();
    },
  };
}

async function httpFixture(): Promise<Fixture> {
  const cleanups: Array<() => Promise<unknown>> = [];
  return {
    async open() {
      const d = await tempDir('http');
      const serve = await startServe(d.path, [], { PALISADE_STORE_TOKEN: TOKEN });
      cleanups.push(() => serve.stop(), () => d.remove());
      return new HttpBundleStore(serve.url, { token: TOKEN, waitSeconds: 5 });
    },
    async close() {
      for (const c of cleanups) await c();
    },
  };
}

async function ociFixture(): Promise<Fixture> {
  const registry = await startRegistry();
  let n = 0;
  return {
    async open() {
      return new OciBundleStore(`http://${registry.host}`, `palisade/contract-${n++}`);
    },
    close: () => registry.stop(),
  };
}

const kinds: Array<[string, () => Promise<Fixture>]> = [['fs', fsFixture], ['http', httpFixture], ['oci', ociFixture]];

async function conflictOf(p: Promise<unknown>): Promise<StoreError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe.each(kinds)('BundleStore contract: %s', (_kind, makeFixture) => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await makeFixture();
  }, 30_000);
  afterAll(async () => {
    await fixture?.close();
  }, 30_000);

  it('an empty store has no latest bundle and lists nothing', async () => {
    const store = await fixture.open();
    expect(await store.latest()).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });

  it('publish moves latest, and get returns the exact bytes', async () => {
    const store = await fixture.open();
    const bytes = makeBundle(1);
    const d = await store.publish({ serial: 1, bytes });
    expect(d).toEqual({ serial: 1, digest: sha256Digest(bytes), size: bytes.byteLength });
    expect(await store.latest()).toEqual(d);
    expect(Buffer.from(await store.get(d.digest, { expectedSize: d.size })).equals(Buffer.from(bytes))).toBe(true);
    const two = await store.publish({ serial: 2, bytes: makeBundle(2) });
    expect(await store.latest()).toEqual(two);
    expect(await store.list()).toEqual([d, two]);
  });

  it('refuses a serial that is not above latest, and leaves latest alone', async () => {
    const store = await fixture.open();
    const five = await store.publish({ serial: 5, bytes: makeBundle(5) });
    for (const serial of [5, 4]) {
      const err = await conflictOf(store.publish({ serial, bytes: makeBundle(serial, 'other') }));
      expect(err.code).toBe('store-conflict');
      expect(err.current).toEqual(five);
    }
    expect(await store.latest()).toEqual(five);
  });

  it('compare-and-swap: expectLatestSerial must still hold', async () => {
    const store = await fixture.open();
    await store.publish({ serial: 1, bytes: makeBundle(1) }, { expectLatestSerial: 0 });
    const err = await conflictOf(store.publish({ serial: 3, bytes: makeBundle(3) }, { expectLatestSerial: 0 }));
    expect(err.code).toBe('store-conflict');
    expect(err.current?.serial).toBe(1);
    const d = await store.publish({ serial: 3, bytes: makeBundle(3) }, { expectLatestSerial: 1 });
    expect((await store.latest())?.serial).toBe(d.serial);
  });

  it('get: unknown digest, size bound and announced size', async () => {
    const store = await fixture.open();
    const d = await store.publish({ serial: 1, bytes: makeBundle(1) });
    expect((await conflictOf(store.get(sha256Digest(new Uint8Array([1]))))).code).toBe('store-not-found');
    expect((await conflictOf(store.get(d.digest, { maxBytes: d.size - 1 }))).code).toBe('store-too-large');
    expect((await conflictOf(store.get(d.digest, { expectedSize: d.size - 1 }))).code).toBe('store-too-large');
    expect((await conflictOf(store.get(d.digest, { expectedSize: d.size + 1 }))).code).toBe('store-truncated');
    expect((await conflictOf(store.get('sha256:../../etc/passwd'))).code).toBe('store-bad-input');
  });

  it('watch yields the new latest after a publish', async () => {
    const store = await fixture.open();
    const first = await store.publish({ serial: 1, bytes: makeBundle(1) });
    const ac = new AbortController();
    const seen: BundleDescriptor[] = [];
    const watching = (async () => {
      for await (const d of store.watch(first.serial, { signal: ac.signal, pollMs: 50 })) {
        seen.push(d);
        if (d.serial >= 3) ac.abort();
      }
    })();
    await store.publish({ serial: 2, bytes: makeBundle(2) });
    await new Promise((r) => setTimeout(r, 300));
    await store.publish({ serial: 3, bytes: makeBundle(3) });
    await watching;
    expect(seen.at(-1)?.serial).toBe(3);
    expect(seen.every((d, i) => i === 0 || d.serial > seen[i - 1]!.serial)).toBe(true);
  }, 20_000);
});
