/**
 * Rollback bundles through the agents' gate: the stable bundle re-signed as a rollback of the bad serial is taken by
 * an agent that ran the bad one and by one that never saw it, re-verifies after a restart, and leaves the bad serial
 * and older rollbacks refused.
 */
import { describe, expect, it } from 'vitest';
import { BundleGate, rollbackBundleOf, verifyBundle, type BundleError } from '../../pipeline/core/bundle/index.js';
import { bundle, newKey, T0, trustOf } from './fixtures.js';

const key = newKey();
const trust = trustOf([key], 1);
const clock = (): Date => new Date(T0.getTime() + 3600_000);
const stableBytes = bundle(4, [key], {}, 'a');
const badBytes = bundle(5, [key], {}, 'b');

async function rollbackOf(rollbackOf: number, keys = [key]): Promise<Uint8Array> {
  const stable = await verifyBundle(stableBytes, { trust, now: clock() });
  return rollbackBundleOf(stable, { rollbackOf, createdAt: clock(), expiresAt: new Date(clock().getTime() + 86400_000) }, keys).bytes;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => undefined, (e: BundleError) => e.code);
}

describe('rollback bundles', () => {
  it('an agent that accepted the bad serial takes the rollback; afterwards the bad serial is refused', async () => {
    const gate = new BundleGate({ trust }, { clock });
    await gate.admit([stableBytes]);
    await gate.admit([badBytes]);
    const rb = await gate.admit([await rollbackOf(5)]);
    expect(rb.manifest).toMatchObject({ serial: 4, rollbackOf: 5 });
    // The policy is exactly the stable one.
    const stable = await verifyBundle(stableBytes, { trust, now: clock() });
    expect([...rb.components]).toEqual([...stable.components]);
    expect(rb.manifest.parentDigest).toBe(stable.manifestDigest);
    expect(gate.state).toMatchObject({ minSerial: 6, minRollbackOf: 5 });
    expect(await codeOf(gate.admit([badBytes]))).toBe('bundle-rollback');
  });

  it('re-verifies after a restart from the saved minimums; an older rollback is a replay and refused', async () => {
    const restarted = new BundleGate({ trust, minSerial: 6, minRollbackOf: 5 }, { clock });
    await restarted.admit([await rollbackOf(5)]);
    const older = new BundleGate({ trust, minSerial: 6, minRollbackOf: 5 }, { clock });
    // A rollback bundle of serial 4 can only revert a later serial; one reverting an earlier one cannot be made.
    await expect(rollbackOf(4)).rejects.toMatchObject({ code: 'bundle-malformed' });
    const stable3 = bundle(3, [key], {}, 'c');
    const s3 = await verifyBundle(stable3, { trust, now: clock() });
    const replay = rollbackBundleOf(s3, { rollbackOf: 4, createdAt: clock(), expiresAt: new Date(clock().getTime() + 86400_000) }, [key]).bytes;
    expect(await codeOf(older.admit([replay]))).toBe('bundle-rollback');
  });

  it('an agent that never saw the bad serial takes the rollback too', async () => {
    const gate = new BundleGate({ trust }, { clock });
    await gate.admit([stableBytes]);
    await gate.admit([await rollbackOf(5)]);
    expect(await codeOf(gate.admit([badBytes]))).toBe('bundle-rollback');
  });

  it('a rollback signed by an untrusted key is refused', async () => {
    const gate = new BundleGate({ trust, minSerial: 5, minRollbackOf: 5 }, { clock });
    expect(await codeOf(gate.admit([await rollbackOf(5, [newKey()])]))).toBe('bundle-unknown-key');
    expect(gate.state).toMatchObject({ minSerial: 5, minRollbackOf: 5 });
  });
});
