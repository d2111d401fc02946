/**
 * A publisher killed (SIGKILL) at every step of a publish leaves the store readable and consistent, and the next
 * publish works. The publisher runs in a child process with PALISADE_FAULT_STEP naming the step to die at: once as
 * a program using the filesystem store directly, once as `palisade publish`, once as `palisade serve` handling an
 * upload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FS_PUBLISH_STEPS, FsBundleStore, HttpBundleStore, StoreError, sha256Digest } from '../../pipeline/stores/index.js';
import { IMPORT_STORES, TEMPLATE_POLICIES, makeBundle, runCli, runNode, startServe, tempDir } from './helpers.js';

/** The step at which the new bundle becomes the latest: dying before it leaves serial 1, from it on serial 2. */
const TAKES_EFFECT = FS_PUBLISH_STEPS.indexOf('fs:head-linked');

async function expectConsistent(store: FsBundleStore, step: string): Promise<number> {
  const latest = await store.latest();
  expect(latest, step).toBeDefined();
  const history = await store.list();
  expect(history.at(-1), step).toEqual(latest);
  for (const d of history) expect(sha256Digest(await store.get(d.digest, { expectedSize: d.size })), step).toBe(d.digest);
  return latest!.serial;
}

describe('fault injection: publisher killed at every step', () => {
  let dir: { path: string; remove(): Promise<void> };
  let key: string;
  beforeAll(async () => {
    dir = await tempDir('fault');
    key = join(dir.path, 'signer');
    const r = await runCli(['keygen', '--out', key]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it.each(FS_PUBLISH_STEPS.map((s, i) => [s, i] as const))('direct publisher killed at %s', async (step, index) => {
    const store = new FsBundleStore(join(dir.path, step.replace(':', '-')));
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    const script = `${IMPORT_STORES}
      const store = new stores.FsBundleStore(process.argv[1]);
      await store.publish({ serial: 2, bytes: Buffer.from(process.argv[2], 'base64') });
      process.stdout.write('finished');`;
    const bundle2 = Buffer.from(makeBundle(2)).toString('base64');
    const run = await runNode(script, { PALISADE_FAULT_STEP: step }, [store.root, bundle2]);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(run.stdout).toBe('');

    const serial = await expectConsistent(store, step);
    expect(serial).toBe(index >= TAKES_EFFECT ? 2 : 1);
    // The next publish works, and sweeps the dead publisher's temp files.
    await store.publish({ serial: serial + 1, bytes: makeBundle(serial + 1) });
    expect(await expectConsistent(store, step)).toBe(serial + 1);
    expect(await readdir(join(store.root, 'tmp'))).toEqual([]);
  }, 20_000);

  it.each(FS_PUBLISH_STEPS.map((s, i) => [s, i] as const))('palisade publish killed at %s', async (step, index) => {
    const root = join(dir.path, `cli-${step.replace(':', '-')}`);
    const publish = (env: NodeJS.ProcessEnv) => runCli(['publish', '--policies', TEMPLATE_POLICIES, '--store', root, '--key', `${key}.key`], env);
    const first = await publish({});
    expect(first.code, first.stderr).toBe(0);
    const killed = await publish({ PALISADE_FAULT_STEP: step });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const store = new FsBundleStore(root);
    const serial = await expectConsistent(store, step);
    expect(serial).toBe(index >= TAKES_EFFECT ? 2 : 1);
    const next = await publish({});
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain(`published serial ${serial + 1} `);
    expect(await expectConsistent(store, step)).toBe(serial + 1);
  }, 30_000);

  it.each(FS_PUBLISH_STEPS.map((s, i) => [s, i] as const))('palisade serve killed during an upload at %s', async (step, index) => {
    const root = join(dir.path, `serve-${step.replace(':', '-')}`);
    const store = new FsBundleStore(root);
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    const token = 'fault-test-token';
    const dying = await startServe(root, [], { PALISADE_FAULT_STEP: step, PALISADE_STORE_TOKEN: token });
    const client = new HttpBundleStore(dying.url, { token });
    const err = await client.publish({ serial: 2, bytes: makeBundle(2) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store-unreachable');
    await new Promise((r) => dying.child.once('exit', r));
    expect(dying.child.signalCode).toBe('SIGKILL');

    const serial = await expectConsistent(store, step);
    expect(serial).toBe(index >= TAKES_EFFECT ? 2 : 1);
    // A restarted server serves the same latest and accepts the next upload.
    const again = await startServe(root, [], { PALISADE_STORE_TOKEN: token });
    try {
      const next = new HttpBundleStore(again.url, { token });
      expect((await next.latest())?.serial).toBe(serial);
      await next.publish({ serial: serial + 1, bytes: makeBundle(serial + 1) }, { expectLatestSerial: serial });
      expect(await expectConsistent(store, step)).toBe(serial + 1);
    } finally {
      await again.stop();
    }
  }, 30_000);

  it('publishers SIGKILLed at arbitrary moments never leave a torn store', async () => {
    const root = join(dir.path, 'random-kills');
    const store = new FsBundleStore(root);
    await store.publish({ serial: 1, bytes: makeBundle(1) });
    // Each child publishes as fast as it can (serial = latest + 1, CAS); the test kills it after a varying delay.
    const script = `${IMPORT_STORES}
      const store = new stores.FsBundleStore(process.argv[1]);
      for (let i = 0; ; i++) {
        const latest = (await store.latest())?.serial ?? 0;
        const bytes = new TextEncoder().encode('bundle ' + (latest + 1) + ' ' + process.pid + ' ' + 'x'.repeat(200000));
        await store.publish({ serial: latest + 1, bytes }, { expectLatestSerial: latest }).catch((err) => {
          if (err.code !== 'store-conflict') throw err;
        });
      }`;
    for (let round = 0; round < 12; round++) {
      const start = (await store.latest())!.serial;
      const children = [0, 1].map(() => spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: 'ignore' }));
      // Kill only once the children are publishing (on a loaded machine, starting node alone can take longer than
      // the delay below), then after a varying delay, so the kills land at arbitrary steps of real publishes.
      while ((await store.latest())!.serial === start && children.every((c) => c.exitCode === null)) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, (round * 37) % 200));
      await Promise.all(children.map((c) => new Promise((r) => {
        c.once('exit', r);
        c.kill('SIGKILL');
      })));
      await expectConsistent(store, `round ${round}`);
    }
    const before = (await store.latest())!.serial;
    // The kills landed among real publishes, not before the children got going.
    expect(before).toBeGreaterThan(1);
    await store.publish({ serial: before + 1, bytes: makeBundle(before + 1) });
    expect(await expectConsistent(store, 'after')).toBe(before + 1);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  }, 60_000);
});
