/**
 * The flock(2) lock writers of filesystem records hold: exclusive between holders (two opens in one process
 * included), and a waiter behind a live holder that does not let go gives up (deadline or abort) instead of
 * breaking the lock.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockError, withFileLock } from '../../pipeline/stores/fs-lock.js';
import { tempDir } from './helpers.js';

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir('fs-lock');
});
afterAll(async () => {
  await dir?.remove();
});

/** Holds the lock on `path` until the returned release is called; resolves once it is held. */
async function holdLock(path: string): Promise<{ release: () => Promise<void> }> {
  let letGo!: () => void;
  let isHeld!: () => void;
  const held = new Promise<void>((res) => (isHeld = res));
  const done = withFileLock(path, () => {
    isHeld();
    return new Promise<void>((res) => (letGo = res));
  });
  await held;
  return {
    release: async () => {
      letGo();
      await done;
    },
  };
}

describe('withFileLock', () => {
  it('lets one holder in at a time; the waiter goes in once the holder lets go', async () => {
    const path = join(dir.path, 'one-at-a-time.lock');
    const order: string[] = [];
    const first = await holdLock(path);
    let busy!: () => void;
    const waiting = new Promise<void>((res) => (busy = res));
    const second = withFileLock(path, async () => void order.push('second'), { onBusy: busy });
    await waiting;
    order.push('first done');
    await first.release();
    await second;
    expect(order).toEqual(['first done', 'second']);
  });

  it('a waiter behind a holder that never lets go gives up at its deadline or on abort, and the holder keeps the lock', async () => {
    const path = join(dir.path, 'stuck.lock');
    const holder = await holdLock(path);
    const timedOut = await withFileLock(path, async () => 'entered', { waitMs: 50 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(LockError);
    expect((timedOut as LockError).reason).toBe('timeout');
    const abort = new AbortController();
    const aborted = withFileLock(path, async () => 'entered', { signal: abort.signal, onBusy: () => abort.abort() }).catch((e: unknown) => e);
    expect(((await aborted) as LockError).reason).toBe('aborted');
    await holder.release();
    expect(await withFileLock(path, async () => 'entered', { waitMs: 50 })).toBe('entered');
  });
});
