/**
 * Trust roots: k-of-n thresholds, rotation signed by the previous root's threshold, expiry, and the gate moving its
 * trust only when a rotation verifies.
 */
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  BundleGate,
  cosignBundle,
  readTarEntries,
  canonicalJsonBytes,
  createRootSigned,
  parseRootFile,
  signRoot,
  verifyRootChain,
  type RootFile,
  type SigningKey,
} from '../../pipeline/core/bundle/index.js';
import { T0, bundle, newKey, rootOf } from './fixtures.js';

const now = new Date(T0.getTime() + 3600_000);

function rotate(from: SigningKey[], to: SigningKey[], threshold: number, version: number): RootFile {
  const signed = createRootSigned({ version, expiresAt: new Date(T0.getTime() + 365 * 86400_000), threshold, keys: to });
  return signRoot(signed, [...new Map([...from, ...to].map((k) => [k.keyId, k])).values()]);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as BundleError).code;
  }
  return 'no error';
}

describe('trust root', () => {
  const a = [newKey(), newKey(), newKey()];
  const b = [newKey(), newKey()];
  const v1 = rootOf(a, 2);

  it('round-trips through its file form and grants k-of-n trust', () => {
    const parsed = parseRootFile(canonicalJsonBytes(v1), 'root.json');
    const trust = verifyRootChain([parsed], now);
    expect(trust.threshold).toBe(2);
    expect([...trust.keys.keys()].sort()).toEqual(a.map((k) => k.keyId).sort());
  });

  it('root rotation: accepted when signed by the old threshold and the new keys', () => {
    const v2 = rotate(a.slice(0, 2), b, 2, 2);
    const trust = verifyRootChain([v1, v2], now);
    expect([...trust.keys.keys()].sort()).toEqual(b.map((k) => k.keyId).sort());
    expect(trust.description).toBe('trust root v2');
  });

  it('root rotation: refused below the old threshold, out of sequence, or unsigned by the new keys', () => {
    expect(code(() => verifyRootChain([v1, rotate(a.slice(0, 1), b, 2, 2)], now))).toBe('trust-root-invalid');
    expect(code(() => verifyRootChain([v1, rotate(a.slice(0, 2), b, 2, 3)], now))).toBe('trust-root-invalid');
    const signedOnlyByOld = signRoot(createRootSigned({ version: 2, expiresAt: new Date(T0.getTime() + 86400_000 * 30), threshold: 1, keys: b }), a);
    expect(code(() => verifyRootChain([v1, signedOnlyByOld], now))).toBe('trust-root-invalid');
  });

  it('an expired newest root is refused', () => {
    const late = new Date(T0.getTime() + 400 * 86400_000);
    expect(code(() => verifyRootChain([v1], late))).toBe('trust-root-expired');
  });

  it('a root whose key ID does not match its key is refused', () => {
    const bad = JSON.parse(JSON.stringify(v1)) as { signed: { keys: { keyId: string }[] } };
    bad.signed.keys[0]!.keyId = 'f'.repeat(64);
    expect(code(() => parseRootFile(canonicalJsonBytes(bad), 'root.json'))).toBe('trust-root-invalid');
  });

  it('the gate follows a rotation, and keeps its trust when a rotation is refused', async () => {
    const g = new BundleGate({ trust: verifyRootChain([v1], now), root: v1 }, { clock: () => now });
    await g.admit([bundle(1, a.slice(1))]);
    const before = g.state;
    expect(code(() => g.rotateRoot([rotate(a.slice(2), b, 1, 2)]))).toBe('trust-root-invalid');
    expect(g.state).toBe(before);
    g.rotateRoot([rotate(a.slice(0, 2), b, 1, 2)]);
    // Old keys no longer count; the new ones do.
    await expect(g.admit([bundle(2, a)])).rejects.toMatchObject({ code: 'bundle-unknown-key' });
    expect((await g.admit([bundle(2, [b[1]!])])).signers).toEqual([b[1]!.keyId]);
  });

  it('co-signing: holders of a 2-of-3 threshold sign one after another', async () => {
    const g = new BundleGate({ trust: verifyRootChain([v1], now), root: v1 }, { clock: () => now });
    const first = bundle(1, [a[0]!]);
    await expect(g.admit([first])).rejects.toMatchObject({ code: 'bundle-threshold' });
    const second = cosignBundle(first, [a[2]!, a[0]!]);
    expect(second.signers).toEqual([a[0]!.keyId, a[2]!.keyId].sort());
    // Manifest and components are untouched: only signature entries were added.
    const names = (f: Uint8Array) => readTarEntries(f).map((e) => e.name);
    expect(names(second.bytes).filter((n) => !n.startsWith('signatures/'))).toEqual(names(first).filter((n) => !n.startsWith('signatures/')));
    expect(Buffer.from(second.bytes.subarray(second.bytes.length - 4096)).equals(Buffer.from(first.subarray(first.length - 4096)))).toBe(true);
    const v = await g.admit([second.bytes]);
    expect(v.manifestDigest).toBe(second.manifestDigest);
    expect(v.signers).toEqual(second.signers);
    expect(() => cosignBundle(first.subarray(0, 1000), [a[1]!])).toThrow(expect.objectContaining({ code: 'bundle-truncated' }));
  });
});
