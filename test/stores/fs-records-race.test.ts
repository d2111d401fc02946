/**
 * The filesystem record store under concurrent writers: a writer stalled between reading the current version and
 * linking the next cannot lose an update or succeed stale (replayed step by step with the store's test hooks),
 * several processes incrementing one counter with compare-and-swap retries end at exactly the number of increments
 * that reported success, a writer killed at any step while holding the record's lock leaves it readable and
 * unlocked, and a lock file that is not a regular file is refused, never replaced.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FS_RECORD_STEPS, FsRecordStore } from '../../pipeline/stores/index.js';
import { IMPORT_STORES, incrementRecord, runNode, storeErrorOf, tempDir } from './helpers.js';

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir('records-race');
});
afterAll(async () => {
  await dir?.remove();
});

/** A promise with its resolve function, for stepping writers by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((res) => (open = res));
  return { promise, open };
}

describe('filesystem records: a stalled writer', () => {
  it('between reading the version and linking the next, it neither loses an update nor lets one be lost', async () => {
    const root = join(dir.path, 'stalled');
    const name = 'counter';
    const v1 = await new FsRecordStore(root).putRecord(name, { n: 0 }, null);

    // W reads version 1 and stops right before its link. B then tries three increments (which, without the lock,
    // would write 2, 3, 4 and sweep 2.json, so that W's link of 2.json would "succeed" below the current version).
    const reached = gate();
    const release = gate();
    const stalled = new FsRecordStore(root, {
      beforeLink: async () => {
        reached.open();
        await release.promise;
      },
    });
    const bWaits = gate();
    const other = new FsRecordStore(root, { onLockBusy: () => bWaits.open() });

    const w = stalled.putRecord(name, { n: 1 }, v1);
    await reached.promise;
    const b = incrementRecord(other, name, 3);
    // B either waits for W's lock (the fix) or, without one, finishes its three writes first.
    await Promise.race([bWaits.promise, b]);
    expect((await readdir(join(root, 'records', name))).filter((f) => f.endsWith('.json'))).toEqual(['1.json']);

    release.open();
    expect(await w).toBe('2');
    expect(await b).toBeGreaterThan(0); // B's first attempt expected version 1, which W replaced
    // Every increment that reported success is in the value: W's one and B's three.
    expect(await other.getRecord(name)).toEqual({ value: { n: 4 }, version: '5' });
  });

  it('that read the version before others wrote three more (and the sweep ran) gets a conflict, and no name is reused', async () => {
    const root = join(dir.path, 'late');
    const s = new FsRecordStore(root);
    const c = await s.putRecord('r', { n: 0 }, null);
    let v = c;
    for (let i = 1; i <= 3; i++) v = await s.putRecord('r', { n: i }, v);
    expect((await readdir(join(root, 'records', 'r'))).sort()).toEqual(['.lock', '3.json', '4.json']);
    expect((await storeErrorOf(s.putRecord('r', { n: 1 }, c))).code).toBe('store-conflict');
    expect((await readdir(join(root, 'records', 'r'))).sort()).toEqual(['.lock', '3.json', '4.json']);
    expect(await s.getRecord('r')).toEqual({ value: { n: 3 }, version: '4' });
  });
});

describe('filesystem records: several processes', () => {
  it('incrementing one counter with compare-and-swap retries end at the number of successful increments', async () => {
    const root = join(dir.path, 'processes');
    await new FsRecordStore(root).putRecord('counter', { n: 0 }, null);
    // Each child widens the window between its read of the version and its link now and then, where a stale
    // writer used to slip in; it prints how many increments succeeded and how many conflicts it saw.
    const script = `${IMPORT_STORES}
      const [root, times] = [process.argv[1], Number(process.argv[2])];
      const pause = () => new Promise((r) => (Math.random() < 0.2 ? setTimeout(r, 2) : setImmediate(r)));
      const store = new stores.FsRecordStore(root, { beforeLink: pause });
      let done = 0, conflicts = 0;
      while (done < times) {
        const cur = await store.getRecord('counter');
        try {
          await store.putRecord('counter', { n: cur.value.n + 1 }, cur.version);
          done++;
        } catch (err) {
          if (err.code !== 'store-conflict') throw err;
          conflicts++;
        }
      }
      process.stdout.write(JSON.stringify({ done, conflicts }));`;
    const children = 4;
    const times = 25;
    const runs = await Promise.all(Array.from({ length: children }, () => runNode(script, {}, [root, String(times)])));
    let succeeded = 0;
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      succeeded += (JSON.parse(run.stdout) as { done: number }).done;
    }
    expect(succeeded).toBe(children * times);
    expect(await new FsRecordStore(root).getRecord('counter')).toEqual({ value: { n: succeeded }, version: String(succeeded + 1) });
  }, 20_000);
});

describe('filesystem records: crashes and hostile lock files', () => {
  it.each(FS_RECORD_STEPS.map((s, i) => [s, i] as const))('a writer killed at %s leaves the record readable and unlocked', async (step, index) => {
    const root = join(dir.path, `crash-${step.replace(':', '-')}`);
    const s = new FsRecordStore(root);
    const v1 = await s.putRecord('rollout', { phase: 'old' }, null);
    const script = `${IMPORT_STORES}
      await new stores.FsRecordStore(process.argv[1]).putRecord('rollout', { phase: 'new' }, '1');
      process.stdout.write('finished');`;
    const run = await runNode(script, { PALISADE_FAULT_STEP: step }, [root]);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(run.stdout).toBe('');

    const took = index >= FS_RECORD_STEPS.indexOf('records:linked');
    const now = await s.getRecord('rollout');
    expect(now).toEqual(took ? { value: { phase: 'new' }, version: '2' } : { value: { phase: 'old' }, version: v1 });
    // The kernel dropped the dead writer's lock: the next write goes through at once, and sweeps its temp file.
    await s.putRecord('rollout', { phase: 'next' }, now!.version);
    const files = (await readdir(join(root, 'records', 'rollout'))).sort();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await s.getRecord('rollout')).toEqual({ value: { phase: 'next' }, version: String(Number(now!.version) + 1) });
  }, 20_000);

  it('a lock file that is a FIFO, a symlink or a directory is refused and left as it is', async () => {
    const root = join(dir.path, 'hostile');
    const s = new FsRecordStore(root);
    const planted: [string, (path: string) => Promise<void>, (path: string) => Promise<boolean>][] = [
      ['fifo', async (p) => void execFileSync('mkfifo', [p]), async (p) => (await stat(p)).isFIFO()],
      ['symlink', async (p) => {
        await writeFile(join(root, 'target'), 'keep');
        await symlink(join(root, 'target'), p);
      }, async () => (await readdir(root)).includes('target') && (await stat(join(root, 'target'))).size === 4],
      ['directory', (p) => mkdir(p).then(() => undefined), async (p) => (await stat(p)).isDirectory()],
    ];
    for (const [name, plant, intact] of planted) {
      const recordDir = join(root, 'records', name);
      await mkdir(recordDir, { recursive: true });
      await plant(join(recordDir, '.lock'));
      const err = await storeErrorOf(s.putRecord(name, { x: 1 }, null));
      expect(err.code, name).toBe('store-corrupt');
      expect(err.message, name).toContain('not a regular file');
      expect(await intact(join(recordDir, '.lock')), name).toBe(true);
      expect(await s.getRecord(name), name).toBeUndefined();
    }
  });
});
