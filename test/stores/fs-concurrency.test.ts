/**
 * Concurrent publishers on the filesystem store: the compare-and-swap lets exactly one publisher win each serial,
 * and the latest pointer and its history stay whole, both within one process and across processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBundleStore, StoreError, sha256Digest } from '../../pipeline/stores/index.js';
import { IMPORT_STORES, makeBundle, runNode, tempDir } from './helpers.js';

describe('filesystem store: concurrent publishers', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('concurrency');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('exactly one of many publishers of the same serial wins', async () => {
    const store = new FsBundleStore(`${dir.path}/same-serial`);
    const bundles = Array.from({ length: 16 }, (_, i) => makeBundle(1, `p${i}`));
    const results = await Promise.allSettled(bundles.map((bytes) => new FsBundleStore(store.root).publish({ serial: 1, bytes })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as StoreError).code).toBe('store-conflict');
    const winner = (won[0] as PromiseFulfilledResult<{ digest: string }>).value;
    expect((await store.latest())?.digest).toBe(winner.digest);
    expect(await store.list()).toHaveLength(1);
  });

  it('processes racing serial = latest + 1 with CAS produce a gapless, uncorrupted history', async () => {
    const root = `${dir.path}/processes`;
    const perProcess = 6;
    const processes = 5;
    // Each child publishes `perProcess` bundles, each built on the latest it read, retrying on conflicts.
    const script = `${IMPORT_STORES}
      const store = new stores.FsBundleStore(process.argv[1]);
      const won = [];
      let conflicts = 0;
      while (won.length < ${perProcess}) {
        const latest = (await store.latest())?.serial ?? 0;
        const serial = latest + 1;
        const bytes = new TextEncoder().encode('bundle ' + serial + ' from ' + process.pid);
        try {
          await store.publish({ serial, bytes }, { expectLatestSerial: latest });
          won.push(serial);
        } catch (err) {
          if (err.code !== 'store-conflict') throw err;
          conflicts++;
        }
      }
      process.stdout.write(JSON.stringify({ won, conflicts }));`;
    // A reader polls throughout: every latest it sees must name a whole, readable bundle, and never go backwards.
    const reader = new FsBundleStore(root);
    let publishing = true;
    let reads = 0;
    let last = 0;
    const reading = (async () => {
      while (publishing) {
        const d = await reader.latest();
        if (!d) continue;
        expect(d.serial).toBeGreaterThanOrEqual(last);
        last = d.serial;
        expect(sha256Digest(await reader.get(d.digest, { expectedSize: d.size }))).toBe(d.digest);
        reads++;
      }
    })();
    const runs = await Promise.all(Array.from({ length: processes }, () => runNode(script, {}, [root])));
    publishing = false;
    await reading;
    expect(reads).toBeGreaterThan(0);
    const won = runs.flatMap((r) => {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { won: number[] }).won;
    });
    const total = perProcess * processes;
    expect([...won].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const store = new FsBundleStore(root);
    const history = await store.list();
    expect(history.map((d) => d.serial)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect((await store.latest())?.serial).toBe(total);
    for (const d of history) expect(sha256Digest(await store.get(d.digest, { expectedSize: d.size }))).toBe(d.digest);
  }, 60_000);
});
