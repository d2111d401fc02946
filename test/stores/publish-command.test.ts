/**
 * `palisade publish` end to end (the compiled CLI): real policies from the template repository, real signing keys,
 * each kind of store; the published bundle passes the agent's verification gate and chains to its parent; two
 * racing publishers both land (one rebuilds on the new latest); bad input leaves the store untouched; a bundle that
 * would be expired (or nearly) when published is refused with exit 4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyBundle } from '../../pipeline/core/bundle/verify.js';
import { readTrust } from '../../pipeline/bundle-build/keys-io.js';
import { FsBundleStore, HttpBundleStore, OciBundleStore, StoreError, peekBundle } from '../../pipeline/stores/index.js';
import type { BundleStore } from '../../pipeline/stores/index.js';
import { TEMPLATE_FLOWS, TEMPLATE_POLICIES, makeBundle, runCli, startRegistry, startServe, tempDir } from './helpers.js';
import { makePolicyRepo, patchTarHeader } from '../bundle/fixtures.js';

describe('palisade publish', () => {
  let dir: { path: string; remove(): Promise<void> };
  let key: string;
  let pub: string;
  beforeAll(async () => {
    dir = await tempDir('publish');
    const prefix = join(dir.path, 'signer');
    const r = await runCli(['keygen', '--out', prefix]);
    expect(r.code, r.stderr).toBe(0);
    key = `${prefix}.key`;
    pub = `${prefix}.pub`;
  }, 30_000);
  afterAll(async () => {
    await dir?.remove();
  });

  async function expectVerifiedChain(store: BundleStore, serials: number[]): Promise<void> {
    const { trust } = await readTrust([pub], new Date());
    const history = await store.list();
    expect(history.map((d) => d.serial)).toEqual(serials);
    let parent: string | null = null;
    for (const d of history) {
      const v = await verifyBundle(await store.get(d.digest, { expectedSize: d.size }), { trust, now: new Date(), minSerial: d.serial });
      expect(v.manifest.serial).toBe(d.serial);
      expect(v.manifest.parentDigest).toBe(parent);
      parent = v.manifestDigest;
    }
  }

  it('publishes serial latest+1 to a directory store, signed and chained to its parent', async () => {
    const root = join(dir.path, 'fs-store');
    for (const url of [root, `file://${root}`]) {
      const r = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--flows', TEMPLATE_FLOWS, '--store', url, '--key', key]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^published serial \d+ to /);
    }
    await expectVerifiedChain(new FsBundleStore(root), [1, 2]);
  }, 60_000);

  it('publishes through palisade serve with the token, and is refused without it', async () => {
    const root = join(dir.path, 'http-store');
    const tokenFile = join(dir.path, 'store-token');
    await writeFile(tokenFile, 'publish-test-token\n', { mode: 0o600 });
    const serve = await startServe(root, ['--token-file', tokenFile]);
    try {
      const denied = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', serve.url, '--key', key], { PALISADE_STORE_TOKEN: 'not-the-token-7f3a' });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('[store-unauthorized]');
      expect(denied.stderr).not.toContain('not-the-token-7f3a');
      for (const env of [{}, { PALISADE_STORE_TOKEN: 'publish-test-token' }]) {
        const args = Object.keys(env).length === 0 ? ['--token-file', tokenFile] : [];
        const r = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', serve.url, '--key', key, ...args], env);
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      await serve.stop();
    }
    await expectVerifiedChain(new FsBundleStore(root), [1, 2]);
  }, 60_000);

  it('a server with --trust accepts only bundles the trust root verifies', async () => {
    const root = join(dir.path, 'trusted-store');
    const other = join(dir.path, 'other-signer');
    expect((await runCli(['keygen', '--out', other])).code).toBe(0);
    const serve = await startServe(root, ['--trust', pub], { PALISADE_STORE_TOKEN: 'trust-test-token' });
    try {
      const env = { PALISADE_STORE_TOKEN: 'trust-test-token' };
      const wrongKey = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', serve.url, '--key', `${other}.key`], env);
      expect(wrongKey.code, wrongKey.stderr).toBe(1);
      expect(wrongKey.stderr).toContain('bundle-unknown-key');
      const unsigned = await new HttpBundleStore(serve.url, { token: 'trust-test-token' }).publish({ serial: 1, bytes: makeBundle(1) })
        .catch((e: unknown) => e);
      expect((unsigned as StoreError).code).toBe('store-bad-input');
      expect((unsigned as StoreError).message).toContain('bundle-threshold');
      const good = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', serve.url, '--key', key], env);
      expect(good.code, good.stderr).toBe(0);
      // The same signed bundle with its BPF object made setuid root in the tar header (checksum fixed up) is refused.
      const fs = new FsBundleStore(root);
      const latest = (await fs.latest())!;
      const setuid = patchTarHeader(await fs.get(latest.digest), 'components/palisade.bpf.o', 100, '0004755\0');
      const refused = await new HttpBundleStore(serve.url, { token: 'trust-test-token' }).publish({ serial: 2, bytes: setuid }).catch((e: unknown) => e);
      expect((refused as StoreError).code, (refused as Error).message).toBe('store-bad-input');
      expect((refused as StoreError).message).toContain("'components/palisade.bpf.o': mode field");
    } finally {
      await serve.stop();
    }
    await expectVerifiedChain(new FsBundleStore(root), [1]);
  }, 60_000);

  it('publishes to an OCI registry', async () => {
    const registry = await startRegistry();
    try {
      const url = `oci://${registry.host}/palisade/publish`;
      for (let i = 0; i < 2; i++) {
        const r = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', url, '--key', key]);
        expect(r.code, r.stderr).toBe(0);
      }
      await expectVerifiedChain(new OciBundleStore(`http://${registry.host}`, 'palisade/publish'), [1, 2]);
    } finally {
      await registry.stop();
    }
  }, 60_000);

  it('two racing publishers both land: the loser rebuilds on the new latest', async () => {
    const root = join(dir.path, 'race-store');
    const runs = await Promise.all([0, 1].map(() => runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', root, '--key', key])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    await expectVerifiedChain(new FsBundleStore(root), [1, 2]);
  }, 60_000);

  it('policies with errors publish nothing; a missing key is a usage error', async () => {
    const root = join(dir.path, 'bad-store');
    const bad = join(dir.path, 'bad-policies');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'broken.yaml'), 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: x\nspec:\n  endpointSelector: [\n');
    const r = await runCli(['publish', '--policies', bad, '--store', root, '--key', key]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: error/);
    const unsigned = await runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', root], { PALISADE_SIGNING_KEY: '' });
    expect(unsigned.code).toBe(2);
    expect(await new FsBundleStore(root).latest()).toBeUndefined();
  }, 60_000);

  it('regression: a repository whose last commit is 40 days old is not published expired (exit 4, latest unchanged)', async () => {
    const day = 86_400_000;
    const at = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const oldRepo = makePolicyRepo(dir.path, { name: 'old-policies', commitDate: at(Date.now() - 40 * day) });
    const nearRepo = makePolicyRepo(dir.path, { name: 'near-policies', commitDate: at(Date.now() - 28 * day) });
    const root = join(dir.path, 'expiry-store');
    const store = new FsBundleStore(root);
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    const before = await store.latest();

    const expired = await runCli(['publish', '--policies', join(oldRepo, 'policies'), '--store', root, '--key', key]);
    expect(expired.code, expired.stderr).toBe(4);
    expect(expired.stderr).toMatch(/^palisade publish: the bundle is expired: created \S+ \(commit time\), expires \S+, 10d ago; .*nothing published \[bundle-build-expired\]\n$/);
    // Two days left is less than the default three-day margin; a one-day margin lets it through.
    const soon = await runCli(['publish', '--policies', join(nearRepo, 'policies'), '--store', root, '--key', key]);
    expect(soon.code, soon.stderr).toBe(4);
    expect(soon.stderr).toContain('less than the 3d required (--min-validity)');
    expect(soon.stderr).toContain('[bundle-build-expires-soon]');
    expect(await store.latest()).toEqual(before);
    expect(await store.list()).toHaveLength(1);

    const margin = await runCli(['publish', '--policies', join(nearRepo, 'policies'), '--store', root, '--key', key, '--min-validity', '1d']);
    expect(margin.code, margin.stderr).toBe(0);
    // Re-publishing the old commit on purpose: its validity counted from now.
    const renewed = await runCli(['publish', '--policies', join(oldRepo, 'policies'), '--store', root, '--key', key, '--expires-in', '30d']);
    expect(renewed.code, renewed.stderr).toBe(0);
    const latest = (await store.latest())!;
    expect(latest.serial).toBe(3);
    const { trust } = await readTrust([pub], new Date());
    const v = await verifyBundle(await store.get(latest.digest), { trust, now: new Date(), minSerial: 3 });
    expect(Date.parse(v.manifest.expiresAt)).toBeGreaterThan(Date.now() + 29 * day);
  }, 60_000);

  it('regression: palisade serve refuses an expired upload even without --trust (422 bundle-expired)', async () => {
    const root = join(dir.path, 'expired-upload-store');
    const serve = await startServe(root, [], { PALISADE_STORE_TOKEN: 'expired-upload-token' });
    try {
      const client = new HttpBundleStore(serve.url, { token: 'expired-upload-token' });
      const err = await client.publish({ serial: 1, bytes: makeBundle(1, '', 0, new Date('2026-11-29T10:00:00Z')) }).catch((e: unknown) => e);
      expect((err as StoreError).code).toBe('store-bad-input');
      expect((err as StoreError).message).toContain('(422 bundle-expired): the bundle expired at 2026-11-29T10:00:00Z');
      expect(await client.latest()).toBeUndefined();
      expect((await client.publish({ serial: 1, bytes: makeBundle(1) })).serial).toBe(1);
    } finally {
      await serve.stop();
    }
  }, 30_000);

  it('peekBundle reads the serial, manifest digest, expiry and source of a published bundle', async () => {
    const store = new FsBundleStore(join(dir.path, 'fs-store'));
    const latest = (await store.latest())!;
    const { trust } = await readTrust([pub], new Date());
    const bytes = await store.get(latest.digest);
    const v = await verifyBundle(bytes, { trust, now: new Date() });
    expect(peekBundle(bytes)).toEqual({ serial: latest.serial, manifestDigest: v.manifestDigest, expiresAt: v.manifest.expiresAt, source: v.manifest.source });
  });
});
