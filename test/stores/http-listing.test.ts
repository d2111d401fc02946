/**
 * Regression for the unpaginated listing (`GET /v1/bundles` on a store with 50,000 bundles read every record on
 * every request): the listing of a real `palisade serve` comes in pages of `limit` (default 100, at most 1000)
 * with an opaque `after` cursor and a `Link: <…>; rel="next"` header; a page reads only its own records; the client
 * store follows the pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBundleStore, HttpBundleStore, StoreError } from '../../pipeline/stores/index.js';
import type { BundleDescriptor } from '../../pipeline/stores/index.js';
import { makeBundle, startServe, tempDir } from './helpers.js';
import type { ServeProcess } from './helpers.js';

const COUNT = 250;

describe('paginated listing of palisade serve', () => {
  let dir: { path: string; remove(): Promise<void> };
  let serve: ServeProcess;
  let root: string;

  beforeAll(async () => {
    dir = await tempDir('listing');
    root = join(dir.path, 'store');
    const store = new FsBundleStore(root);
    for (let serial = 1; serial <= COUNT; serial++) await store.publish({ serial, bytes: makeBundle(serial) });
    serve = await startServe(root);
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    await dir?.remove();
  });

  async function page(query: string): Promise<{ status: number; serials: number[]; next: string | null }> {
    const res = await fetch(`${serve.url}/v1/bundles${query}`);
    const body = (await res.json()) as { bundles?: BundleDescriptor[] };
    return { status: res.status, serials: (body.bundles ?? []).map((d) => d.serial), next: res.headers.get('link') };
  }

  it('regression: pages of 100 by default, each naming the next in a Link header, until the end', async () => {
    const serials: number[] = [];
    let query = '';
    const links: string[] = [];
    for (;;) {
      const p = await page(query);
      expect(p.status).toBe(200);
      expect(p.serials.length).toBeLessThanOrEqual(100);
      serials.push(...p.serials);
      if (p.next === null) break;
      links.push(p.next);
      query = /^<(\?limit=100&after=[^>]+)>; rel="next"$/.exec(p.next)![1]!;
    }
    expect(serials).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(links).toHaveLength(2);
    expect((await page('?limit=1000')).serials).toHaveLength(COUNT);
    expect((await page('?limit=1000')).next).toBeNull();
  });

  it('a page reads only its own records: a damaged record further on does not touch the first page', async () => {
    const d = await tempDir('listing-damage');
    const store = new FsBundleStore(d.path);
    try {
      for (let serial = 1; serial <= 5; serial++) await store.publish({ serial, bytes: makeBundle(serial) });
      await writeFile(join(d.path, 'heads', '000000000005.json'), 'damaged');
      expect((await store.listPage({ limit: 3 })).bundles.map((b) => b.serial)).toEqual([1, 2, 3]);
      const err = await store.listPage({ limit: 3, after: '3' }).catch((e: unknown) => e);
      expect((err as StoreError).code).toBe('store-corrupt');
    } finally {
      await d.remove();
    }
  });

  it('bad limits and cursors are 400s; a cursor past the end is an empty last page', async () => {
    for (const q of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=-5', '?after=..%2F..%2Fetc', '?after=' + 'x'.repeat(100), '?after=abc']) {
      const p = await page(q);
      expect(p.status, q).toBe(400);
    }
    expect(await page(`?after=${COUNT + 50}`)).toEqual({ status: 200, serials: [], next: null });
  });

  it('the client store follows the pages', async () => {
    const listed = await new HttpBundleStore(serve.url).list();
    expect(listed.map((d) => d.serial)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(listed).toEqual(await new FsBundleStore(root).list());
  });
});
