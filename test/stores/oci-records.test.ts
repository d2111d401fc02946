/**
 * Records in an OCI registry against the real one (Debian's docker-registry on 127.0.0.1): the record artifact as
 * an OCI client sees it, the records contract where a registry can keep it (stale writers refused, a writer landing
 * between our PUT and our read-back seen), the race it cannot close (shown, as documented), and the registry
 * failing: corrupt tags, read-only maintenance mode, stopped and restarted.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES, OciRecordStore, RECORD_ARTIFACT_TYPE, openRecordStore, recordTag, sha256Digest } from '../../pipeline/stores/index.js';
import { storeErrorOf, useRegistry } from './helpers.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const running = useRegistry();

const open = (repo: string, writer: string, fetchFn?: typeof fetch): OciRecordStore =>
  new OciRecordStore(`http://${running().host}`, repo, { writer, ...(fetchFn ? { fetch: fetchFn } : {}) });

/** A fetch that runs `before` once, just before the first manifest PUT goes out. */
function beforeFirstManifestPut(before: () => Promise<void>): typeof fetch {
  let armed = true;
  return async (input, init) => {
    if (armed && init?.method === 'PUT' && String(input).includes('/manifests/')) {
      armed = false;
      await before();
    }
    return fetch(input, init);
  };
}

/** A fetch that runs `after` once, just after the first manifest PUT was answered. */
function afterFirstManifestPut(after: () => Promise<void>): typeof fetch {
  let armed = true;
  return async (input, init) => {
    const res = await fetch(input, init);
    if (armed && init?.method === 'PUT' && String(input).includes('/manifests/')) {
      armed = false;
      await after();
    }
    return res;
  };
}

describe('records in an OCI registry', () => {
  it('opens from an oci:// URL', () => {
    expect(openRecordStore(`oci://${running().host}/palisade/records`)).toBeInstanceOf(OciRecordStore);
    expect(openRecordStore(`oci://${running().host}/palisade/records`).casStrength).toBe('verified');
  });

  it('creates, reads and replaces only with the version read; the version is the manifest digest', async () => {
    const s = open('palisade/crud', 'controller-1');
    expect(await s.getRecord('rollout')).toBeUndefined();
    const v1 = await s.putRecord('rollout', { phase: 'progressing', wave: 0 }, null);
    expect(v1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await s.getRecord('rollout')).toEqual({ value: { phase: 'progressing', wave: 0 }, version: v1 });
    const served = await fetch(`http://${running().host}/v2/palisade/crud/manifests/record.rollout`, { headers: { Accept: MANIFEST_TYPE } });
    expect(served.headers.get('docker-content-digest')).toBe(v1);
    expect(sha256Digest(new Uint8Array(await served.arrayBuffer()))).toBe(v1);

    expect((await storeErrorOf(s.putRecord('rollout', { phase: 'x' }, null))).code).toBe('store-conflict');
    const v2 = await s.putRecord('rollout', { phase: 'paused', wave: 1 }, v1);
    const stale = await storeErrorOf(s.putRecord('rollout', { phase: 'aborted' }, v1));
    expect(stale.code).toBe('store-conflict');
    expect(stale.message).toContain(`expected version ${v1}`);
    expect((await s.getRecord('rollout'))?.value).toEqual({ phase: 'paused', wave: 1 });
    // The same value again is a new version: a writer holding v2 cannot be fooled by an A-B-A.
    const v3 = await s.putRecord('rollout', { phase: 'paused', wave: 1 }, v2);
    expect(v3).not.toBe(v2);
  });

  it('is an OCI artifact: record artifactType, empty config and layer, the record in annotations, one tag per record', async () => {
    const s = open('palisade/shape', 'agent:node-a');
    await s.putRecord('nodes/node-a/status', { phase: 'active' }, null);
    expect(recordTag('nodes/node-a/status')).toBe('record.nodes_S_node-a_S_status');
    const m = (await (await fetch(`http://${running().host}/v2/palisade/shape/manifests/record.nodes_S_node-a_S_status`, { headers: { Accept: MANIFEST_TYPE } })).json()) as Record<string, unknown>;
    expect(m.artifactType).toBe(RECORD_ARTIFACT_TYPE);
    expect((m.config as { mediaType: string }).mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect((m.layers as unknown[]).length).toBe(1);
    const a = m.annotations as Record<string, string>;
    expect(a['dev.palisade.record.name']).toBe('nodes/node-a/status');
    expect(a['dev.palisade.record.writer']).toBe('agent:node-a');
    expect(JSON.parse(a['dev.palisade.record.value']!)).toEqual({ phase: 'active' });
  });

  it('lists by prefix, sorted, beside bundle tags', async () => {
    const s = open('palisade/list', 'w');
    for (const n of ['b', 'a', 'c']) await s.putRecord(`nodes/${n}/status`, { n }, null);
    await s.putRecord('nodes/a/target', { t: 1 }, null);
    await s.putRecord('rollout', {}, null);
    expect(await s.listRecords('nodes/')).toEqual(['nodes/a/status', 'nodes/a/target', 'nodes/b/status', 'nodes/c/status']);
    expect(await s.listRecords('')).toContain('rollout');
  });

  it('refuses malformed names, names too long for a tag, and oversized or non-JSON values', async () => {
    const s = open('palisade/bad', 'w');
    for (const bad of ['', '../etc/passwd', 'Upper', 'a//b', 'a/b/c/d/e', 'x'.repeat(254)]) {
      expect((await storeErrorOf(s.putRecord(bad, 1, null))).code, bad).toBe('store-bad-input');
    }
    const long = await storeErrorOf(s.putRecord(`nodes/${'n'.repeat(120)}/status`, 1, null));
    expect(long.code).toBe('store-bad-input');
    expect(long.message).toMatch(/too long for an OCI tag/);
    expect((await storeErrorOf(s.putRecord('big', 'x'.repeat(MAX_RECORD_BYTES), null))).code).toBe('store-bad-input');
    expect((await storeErrorOf(s.putRecord('fn', () => 1, null))).code).toBe('store-bad-input');
    expect(await s.listRecords('')).toEqual([]);
  });

  it('a value as large as a record may be round-trips', async () => {
    const s = open('palisade/large', 'w');
    const value = { text: 'é"\\'.repeat(Math.floor((MAX_RECORD_BYTES - 64) / 6)) };
    const v = await s.putRecord('large', value, null);
    expect(await s.getRecord('large')).toEqual({ value, version: v });
  });

  it('a write landing between our PUT and our read-back is seen: our write reports a conflict naming the writer', async () => {
    const other = open('palisade/race', 'controller-b');
    const v0 = await other.putRecord('rollout', { by: 'b', n: 0 }, null);
    const mine = open('palisade/race', 'controller-a', afterFirstManifestPut(async () => {
      // B read our version and replaced it before our read-back.
      const ours = await other.getRecord('rollout');
      await other.putRecord('rollout', { by: 'b', n: 2 }, ours!.version);
    }));
    const err = await storeErrorOf(mine.putRecord('rollout', { by: 'a', n: 1 }, v0));
    expect(err.code).toBe('store-conflict');
    expect(err.message).toMatch(/written concurrently by controller-b/);
    expect((await mine.getRecord('rollout'))?.value).toEqual({ by: 'b', n: 2 });
  });

  it('what a registry cannot do: a writer that checked before our PUT and writes after our read-back wins unseen (hence one writer per record)', async () => {
    const a = open('palisade/hole', 'writer-a');
    const v0 = await a.putRecord('x', { n: 0 }, null);
    let aVersion = '';
    // B passes its check on v0, then A writes and verifies completely, then B's PUT goes out.
    const b = open('palisade/hole', 'writer-b', beforeFirstManifestPut(async () => {
      aVersion = await a.putRecord('x', { n: 'a' }, v0);
    }));
    const bVersion = await b.putRecord('x', { n: 'b' }, v0);
    expect(aVersion).toMatch(/^sha256:/);
    expect(bVersion).not.toBe(aVersion);
    expect(await a.getRecord('x')).toEqual({ value: { n: 'b' }, version: bVersion });
  });

  it('a tag holding something that is not a record is store-corrupt', async () => {
    const s = open('palisade/corrupt', 'w');
    await s.putRecord('rollout', { ok: true }, null);
    const bogus = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, artifactType: 'application/vnd.example', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] });
    const put = await fetch(`http://${running().host}/v2/palisade/corrupt/manifests/record.rollout`, { method: 'PUT', headers: { 'Content-Type': MANIFEST_TYPE }, body: bogus });
    expect(put.status).toBe(201);
    const err = await storeErrorOf(s.getRecord('rollout'));
    expect(err.code).toBe('store-corrupt');
    expect(err.message).toMatch(/not a Palisade record artifact/);
  });

  it('the registry stopped: reads and writes fail as unreachable; restarted, the records are there and writable', async () => {
    const s = open('palisade/restart', 'w');
    const v1 = await s.putRecord('nodes/a/status', { n: 1 }, null);
    await running().down();
    try {
      expect((await storeErrorOf(s.getRecord('nodes/a/status'))).code).toBe('store-unreachable');
      expect((await storeErrorOf(s.putRecord('nodes/a/status', { n: 2 }, v1))).code).toBe('store-unreachable');
    } finally {
      await running().up();
    }
    expect(await s.getRecord('nodes/a/status')).toEqual({ value: { n: 1 }, version: v1 });
    const v2 = await s.putRecord('nodes/a/status', { n: 2 }, v1);
    expect(await s.getRecord('nodes/a/status')).toEqual({ value: { n: 2 }, version: v2 });
  }, 30_000);

  it('the registry in read-only maintenance: writes refused with the status, the record unchanged, reads work', async () => {
    const s = open('palisade/readonly', 'w');
    const v1 = await s.putRecord('rollout', { n: 1 }, null);
    await running().down();
    await running().up(undefined, ['  maintenance:', '    readonly:', '      enabled: true']);
    try {
      const err = await storeErrorOf(s.putRecord('rollout', { n: 2 }, v1));
      expect(err.code).toBe('store-protocol');
      expect(err.message).toMatch(/answered 405/);
      expect(await s.getRecord('rollout')).toEqual({ value: { n: 1 }, version: v1 });
    } finally {
      await running().down();
      await running().up();
    }
    expect(await s.putRecord('rollout', { n: 2 }, v1)).toMatch(/^sha256:/);
  }, 30_000);
});
