/**
 * The records contract (small JSON documents changed only by compare-and-swap) on the filesystem store and over a
 * real `palisade serve`: create, read, conflicting writes, concurrent read-modify-write loops that lose no update,
 * listing, bounds, bad names, authentication, and what a crashed writer leaves behind; and the unlisted bundles
 * (rollback bundles) kept beside them.
 */
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBundleStore, FsRecordStore, HttpBundleStore, HttpRecordStore, MAX_RECORD_BYTES, MAX_RECORD_PAGE_BYTES, openRecordStore, readRecordsUnder, sha256Digest, type RecordStore } from '../../pipeline/stores/index.js';
import { incrementRecord, makeBundle, startServe, storeErrorOf, tempDir, type ServeProcess } from './helpers.js';

const TOKEN = 'records-test-token-0123456789';
let fsDir: { path: string; remove(): Promise<void> };
let httpDir: { path: string; remove(): Promise<void> };
let serve: ServeProcess;

beforeAll(async () => {
  fsDir = await tempDir('records-fs');
  httpDir = await tempDir('records-http');
  await writeFile(join(httpDir.path, '..', `${process.pid}-records.token`), TOKEN);
  serve = await startServe(httpDir.path, ['--token-file', join(httpDir.path, '..', `${process.pid}-records.token`)]);
}, 30_000);
afterAll(async () => {
  await serve?.stop();
  await fsDir?.remove();
  await httpDir?.remove();
});

const stores: [string, () => RecordStore][] = [
  ['filesystem', () => new FsRecordStore(fsDir.path)],
  ['palisade serve', () => new HttpRecordStore(serve.url, { token: TOKEN })],
];

describe.each(stores)('records on the %s store', (kind, open) => {
  const name = (n: string): string => `${kind === 'filesystem' ? 'fs' : 'http'}-${n}`;

  it('creates, reads and replaces only with the version read', async () => {
    const s = open();
    expect(await s.getRecord(name('rollout'))).toBeUndefined();
    const v1 = await s.putRecord(name('rollout'), { phase: 'progressing', wave: 0 }, null);
    expect(await s.getRecord(name('rollout'))).toEqual({ value: { phase: 'progressing', wave: 0 }, version: v1 });
    expect((await storeErrorOf(s.putRecord(name('rollout'), { phase: 'x' }, null))).code).toBe('store-conflict');
    const v2 = await s.putRecord(name('rollout'), { phase: 'paused', wave: 1 }, v1);
    expect(v2).not.toBe(v1);
    const stale = await storeErrorOf(s.putRecord(name('rollout'), { phase: 'aborted' }, v1));
    expect(stale.code).toBe('store-conflict');
    expect(stale.message).toContain(`expected version ${v1}`);
    expect((await s.getRecord(name('rollout')))?.value).toEqual({ phase: 'paused', wave: 1 });
  });

  it('concurrent read-modify-write loops lose no update', async () => {
    const s = open();
    const counter = name('counter');
    await s.putRecord(counter, { n: 0 }, null);
    const writers = 6;
    const each = 8;
    const conflicts = (await Promise.all(Array.from({ length: writers }, () => incrementRecord(s, counter, each)))).reduce((a, b) => a + b, 0);
    expect((await s.getRecord(counter))?.value).toEqual({ n: writers * each });
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);

  it('lists by prefix, sorted', async () => {
    const s = open();
    for (const n of ['b', 'a', 'c']) await s.putRecord(`${name('nodes')}/${n}/status`, { n }, null);
    await s.putRecord(`${name('other')}/x`, {}, null);
    expect(await s.listRecords(`${name('nodes')}/`)).toEqual(['a', 'b', 'c'].map((n) => `${name('nodes')}/${n}/status`));
  });

  it('refuses malformed names and oversized or non-JSON values', async () => {
    const s = open();
    for (const bad of ['', '../etc/passwd', 'Upper', 'a//b', 'a/b/c/d/e', '.hidden', 'a/./b', 'x'.repeat(254)]) {
      expect((await storeErrorOf(s.getRecord(bad))).code, bad).toBe('store-bad-input');
      expect((await storeErrorOf(s.putRecord(bad, 1, null))).code, bad).toBe('store-bad-input');
    }
    expect((await storeErrorOf(s.putRecord(name('big'), 'x'.repeat(MAX_RECORD_BYTES), null))).code).toBe('store-bad-input');
    expect((await storeErrorOf(s.putRecord(name('fn'), () => 1, null))).code).toBe('store-bad-input');
    expect((await storeErrorOf(s.putRecord(name('cyclic'), (() => { const o: Record<string, unknown> = {}; o.o = o; return o; })(), null))).code).toBe('store-bad-input');
  });
});

describe('records: store-specific promises', () => {
  it('the filesystem store keeps two versions, and a dead writer\'s temp file changes nothing', async () => {
    const s = new FsRecordStore(fsDir.path);
    for (let i = 0, v: string | null = null; i < 6; i++) v = await s.putRecord('gc', { i }, v);
    const dir = join(fsDir.path, 'records', 'gc');
    expect((await readdir(dir)).sort()).toEqual(['.lock', '5.json', '6.json']);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '999999-deadbeef0000.tmp'), '{"i":"half');
    expect(await s.getRecord('gc')).toEqual({ value: { i: 5 }, version: '6' });
    await s.putRecord('gc', { i: 6 }, '6');
    expect((await readdir(dir)).sort()).toEqual(['.lock', '6.json', '7.json']);
  });

  it('palisade serve: writes need the token and a precondition; reads do not', async () => {
    const anonymous = new HttpRecordStore(serve.url);
    expect((await storeErrorOf(anonymous.putRecord('auth', 1, null))).code).toBe('store-unauthorized');
    const withToken = new HttpRecordStore(serve.url, { token: TOKEN });
    const v = await withToken.putRecord('auth', { ok: true }, null);
    expect(await anonymous.getRecord('auth')).toEqual({ value: { ok: true }, version: v });
    const noPrecondition = await fetch(`${serve.url}/v1/records/auth`, { method: 'PUT', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"value":2}' });
    expect(noPrecondition.status).toBe(428);
    const tooBig = await fetch(`${serve.url}/v1/records/auth`, { method: 'PUT', headers: { Authorization: `Bearer ${TOKEN}`, 'If-None-Match': '*' }, body: `{"value":"${'x'.repeat(MAX_RECORD_BYTES + 100)}"}` });
    expect(tooBig.status).toBe(413);
    const traversal = await fetch(`${serve.url}/v1/records/..%2F..%2Fetc%2Fpasswd`);
    expect(traversal.status).toBe(400);
    expect(JSON.stringify(await traversal.json())).not.toContain(httpDir.path);
  });

  it('openRecordStore: directories, file://, http(s):// and oci:// (tested in oci-records.test.ts)', () => {
    expect(openRecordStore(fsDir.path)).toBeInstanceOf(FsRecordStore);
    expect(openRecordStore(`file://${fsDir.path}`)).toBeInstanceOf(FsRecordStore);
    expect(openRecordStore(serve.url)).toBeInstanceOf(HttpRecordStore);
    expect(openRecordStore(serve.url).casStrength ?? 'atomic').toBe('atomic');
    expect(() => openRecordStore('oci://127.0.0.1:5000/')).toThrowError(/expected oci:\/\/host/);
    expect(() => openRecordStore('gopher://x/')).toThrowError(/unknown store URL scheme/);
  });

  it('palisade serve lists records with values in pages of at most MAX_RECORD_PAGE_BYTES, and the client follows them', async () => {
    const s = new HttpRecordStore(serve.url, { token: TOKEN });
    const big = 'y'.repeat(MAX_RECORD_BYTES - 1024);
    const names = Array.from({ length: 20 }, (_, i) => `paged/n${String(i).padStart(2, '0')}/status`);
    const versions = new Map<string, string>();
    for (const n of names) versions.set(n, await s.putRecord(n, { n, big }, null));
    await s.putRecord('paged/n00/target', { small: true }, null);
    await s.putRecord('unpaged', 1, null);

    const first = await fetch(`${serve.url}/v1/records?prefix=paged/&values=1`);
    const page = (await first.json()) as { records: { name: string; version: string }[]; next?: string };
    expect(page.records.length).toBeGreaterThan(0);
    expect(page.records.length).toBeLessThan(21);
    expect(page.next).toBe(page.records.at(-1)!.name);
    expect(JSON.stringify(page).length).toBeLessThanOrEqual(MAX_RECORD_PAGE_BYTES + 64);

    const all = await s.getRecords('paged/');
    expect(all.map((r) => r.name)).toEqual([...names.slice(0, 1), 'paged/n00/target', ...names.slice(1)]);
    for (const r of all) if (versions.has(r.name)) expect(r).toEqual({ name: r.name, value: { n: r.name, big }, version: versions.get(r.name) });
    expect((await readRecordsUnder(s, 'paged/', (n) => n.endsWith('/target'))).map((r) => r.value)).toEqual([{ small: true }]);
    expect((await readRecordsUnder(new FsRecordStore(httpDir.path), 'paged/', (n) => n.endsWith('/target'))).map((r) => r.value)).toEqual([{ small: true }]);

    const badAfter = await fetch(`${serve.url}/v1/records?prefix=paged/&values=1&after=..%2Fx`);
    expect(badAfter.status).toBe(400);
  }, 60_000);
});

describe('unlisted bundles (rollback bundles carry an older serial, so latest never names them)', () => {
  it.each([
    ['filesystem', () => new FsBundleStore(fsDir.path)],
    ['palisade serve', () => new HttpBundleStore(serve.url, { token: TOKEN })],
  ] as const)('%s: stored by digest, fetchable, latest unchanged, idempotent', async (_kind, open) => {
    const s = open();
    await s.publish({ serial: 9, bytes: makeBundle(9) });
    const rollback = makeBundle(4, 'rollback');
    const d = await s.storeUnlisted({ serial: 4, bytes: rollback });
    expect(d).toEqual({ serial: 4, digest: sha256Digest(rollback), size: rollback.byteLength });
    expect(await s.storeUnlisted({ serial: 4, bytes: rollback })).toEqual(d);
    expect(Buffer.from(await s.get(d.digest)).equals(Buffer.from(rollback))).toBe(true);
    expect((await s.latest())?.serial).toBe(9);
  });

  it('palisade serve: the digest in the path must be the bundle\'s, and the token is required', async () => {
    const bytes = makeBundle(3, 'x');
    const wrong = `sha256:${'0'.repeat(64)}`;
    const mismatch = await fetch(`${serve.url}/v1/bundles/${wrong}`, { method: 'PUT', headers: { Authorization: `Bearer ${TOKEN}` }, body: bytes });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: string }).error).toBe('digest-mismatch');
    expect((await storeErrorOf(new HttpBundleStore(serve.url).storeUnlisted({ serial: 3, bytes }))).code).toBe('store-unauthorized');
  });
});
