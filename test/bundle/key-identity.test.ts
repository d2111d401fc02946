/**
 * A key's identity is the key, not its encoding. The same P-256 key written with a compressed point used to get a
 * second key ID, so one signer could meet a 2-of-n threshold alone (bundles and root rotations alike). Real keys,
 * real signatures (node:crypto); the compressed encoding and the doubled signatures are crafted as an attacker would.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BundleError,
  IN_TOTO_PAYLOAD_TYPE,
  ROOT_PAYLOAD_TYPE,
  canonicalJsonBytes,
  createManifest,
  createRootSigned,
  keyIdOf,
  manifestBytes,
  packBundle,
  parsePublicKey,
  parseRootFile,
  publicKeyPem,
  signDsse,
  signManifest,
  statementBytes,
  toSigstoreBundle,
  trustOfRoot,
  verifyBundle,
  verifyRootChain,
  type RootFile,
  type SigningKey,
  type TrustPolicy,
} from '../../pipeline/core/bundle/index.js';
import { run as keygen } from '../../pipeline/cli/commands/keygen.js';
import { captureOutput, cli, printed } from './capture.js';
import { T0, components, compressedPublicKey, manifestInput, newKey, rootOf, sha256HexOf } from './fixtures.js';

const now = new Date(T0.getTime() + 3600_000);
const a = newKey();
const b = newKey();
const aCompressed = compressedPublicKey(a.publicKey);
/** The ID key `a` had under the old rule (hash of whatever SPKI bytes it came in). */
const aCompressedOldId = sha256HexOf(aCompressed.der);

captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'palisade-key-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<BundleError> {
  const e = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(BundleError);
  return e as BundleError;
}

/** A bundle carrying two signatures by key `a`: one under its ID, one under the ID of its compressed encoding. */
function doublySignedByA(): Uint8Array {
  const manifest = createManifest(manifestInput(1), components());
  const [sigA] = signManifest(manifest, [a]);
  const payload = statementBytes(manifest, manifestBytes(manifest));
  const sigA2 = toSigstoreBundle(IN_TOTO_PAYLOAD_TYPE, payload, aCompressedOldId, signDsse(IN_TOTO_PAYLOAD_TYPE, payload, a.privateKey));
  const sigs = [sigA!, sigA2].sort((x, y) => (x.verificationMaterial.publicKey.hint < y.verificationMaterial.publicKey.hint ? -1 : 1));
  const byName = new Map(components().map((c) => [c.name, c.bytes] as const));
  return packBundle(manifest, sigs, manifest.components.map((c) => ({ name: c.name, bytes: byName.get(c.name)! }))).bytes;
}

/** The bytes of a root file written by hand (as an attacker would), signed with `signers` under the key IDs given. */
function handRootBytes(signed: object, signers: readonly { keyid: string; key: SigningKey }[]): Uint8Array {
  const payload = canonicalJsonBytes(signed);
  const signatures = signers.map((s) => ({ keyid: s.keyid, sig: Buffer.from(signDsse(ROOT_PAYLOAD_TYPE, payload, s.key.privateKey)).toString('base64') }));
  return canonicalJsonBytes({ signed, signatures });
}

function handRoot(signed: object, signers: readonly { keyid: string; key: SigningKey }[]): RootFile {
  return parseRootFile(handRootBytes(signed, signers), 'hand-written root');
}

describe('key identity', () => {
  it('one key written two ways has one key ID', () => {
    expect(aCompressed.der.byteLength).toBe(59); // really the compressed encoding...
    expect(aCompressedOldId).not.toBe(a.keyId); // ...which hashed to another ID before
    expect(keyIdOf(aCompressed.key)).toBe(a.keyId);
    expect(parsePublicKey(aCompressed.pem, 'a-compressed.pub')).toMatchObject({ keyId: a.keyId });
    // Whatever came in, what goes out is the canonical (uncompressed) encoding.
    expect(publicKeyPem(aCompressed.key)).toBe(publicKeyPem(a.publicKey));
  });

  it('one key written two ways counts once toward the threshold', async () => {
    const file = doublySignedByA();
    // Through a root: the second entry names no trusted key.
    const fromRoot = await rejection(verifyBundle(file, { trust: trustOfRoot(rootOf([a, b], 2)), now }));
    expect(fromRoot.code).toBe('bundle-threshold');
    expect(fromRoot.message).toMatch(/1 valid of 2/);
    // Even a trust map built by hand that lists the one key under both IDs counts it once.
    const handTrust: TrustPolicy = { keys: new Map([[a.keyId, a.publicKey], [aCompressedOldId, aCompressed.key]]), threshold: 2, description: 'hand-built' };
    const fromHand = await rejection(verifyBundle(file, { trust: handTrust, now }));
    expect(fromHand.code).toBe('bundle-threshold');
    expect(fromHand.message).toMatch(/1 valid of 2/);
    // With the threshold at 1 the bundle passes, signed by one key, reported once.
    const ok = await verifyBundle(file, { trust: { ...handTrust, threshold: 1 }, now });
    expect(ok.signers).toEqual([a.keyId]);
  });

  it('a root that lists one key twice (written two ways) is refused', async () => {
    const dup = parsePublicKey(aCompressed.pem, 'a-compressed.pub');
    const e = await rejection(() => createRootSigned({ version: 1, expiresAt: new Date(T0.getTime() + 86400_000), threshold: 2, keys: [a, dup, b] }));
    expect(e.code).toBe('trust-root-invalid');
    expect(e.message).toContain(`key ${a.keyId} listed twice`);
    // Written by hand: the compressed PEM under its old ID does not match its (canonical) ID...
    const expiresAt = '2027-11-28T10:00:00Z';
    const keys = (extra: { keyId: string; publicKey: string }) =>
      [{ keyId: a.keyId, publicKey: publicKeyPem(a.publicKey) }, { keyId: b.keyId, publicKey: publicKeyPem(b.publicKey) }, extra]
        .sort((x, y) => (x.keyId < y.keyId ? -1 : 1));
    const oldId = await rejection(() => handRoot({ _type: 'palisade/root/v1', version: 1, expiresAt, threshold: 2, keys: keys({ keyId: aCompressedOldId, publicKey: aCompressed.pem }) }, []));
    expect(oldId.code).toBe('trust-root-invalid');
    expect(oldId.message).toContain('key ID does not match the key');
    // ...and under the canonical ID it is the same key listed twice.
    const sameId = await rejection(() => handRoot({ _type: 'palisade/root/v1', version: 1, expiresAt, threshold: 2, keys: keys({ keyId: a.keyId, publicKey: aCompressed.pem }) }, []));
    expect(sameId.code).toBe('trust-root-invalid');
    expect(sameId.message).toContain('listed twice');
    // A key ID that is not one (text an attacker chose) is refused before it reaches a message.
    const odd = await rejection(() => handRoot({ _type: 'palisade/root/v1', version: 1, expiresAt, threshold: 1, keys: [{ keyId: 'x\n[fake] ok', publicKey: publicKeyPem(b.publicKey) }] }, []));
    expect(odd.code).toBe('trust-root-invalid');
    expect(odd.message).toContain('a key ID must be 64 lowercase hex digits');
    expect(odd.message).not.toContain('\n');
  });

  it('the holder of one key cannot sign the next root alone', async () => {
    const x = newKey(); // the attacker's own key, to be trusted alone
    const signed = createRootSigned({ version: 2, expiresAt: new Date(T0.getTime() + 365 * 86400_000), threshold: 1, keys: [x] });
    // The root old keygen wrote for `a.pub, a compressed, b.pub, threshold 2` ("2 of 3 keys") is no longer a root,
    // so no chain can start from it.
    const oldStyleV1 = {
      _type: 'palisade/root/v1', version: 1, expiresAt: '2027-11-28T10:00:00Z', threshold: 2,
      keys: [{ keyId: a.keyId, publicKey: publicKeyPem(a.publicKey) }, { keyId: aCompressedOldId, publicKey: aCompressed.pem }, { keyId: b.keyId, publicKey: publicKeyPem(b.publicKey) }]
        .sort((p, q) => (p.keyId < q.keyId ? -1 : 1)),
    };
    const v1Bytes = handRootBytes(oldStyleV1, [{ keyid: a.keyId, key: a }, { keyid: aCompressedOldId, key: a }]);
    expect((await rejection(() => parseRootFile(v1Bytes, 'old root.json'))).code).toBe('trust-root-invalid');
    // From a proper 2-of-2 root:
    const v1 = rootOf([a, b], 2);
    // Signed by a twice (under its ID and under the compressed encoding's ID) and by x.
    const v2 = handRoot(signed, [{ keyid: a.keyId, key: a }, { keyid: aCompressedOldId, key: a }, { keyid: x.keyId, key: x }]);
    const e = await rejection(() => verifyRootChain([v1, v2], now));
    expect(e.code).toBe('trust-root-invalid');
    expect(e.message).toMatch(/signed by 1 keys of root v1, its threshold is 2/);
    // Two signature entries under the very same ID count once, too.
    const v2b = handRoot(signed, [{ keyid: a.keyId, key: a }, { keyid: a.keyId, key: a }, { keyid: x.keyId, key: x }]);
    expect((await rejection(() => verifyRootChain([v1, v2b], now))).code).toBe('trust-root-invalid');
  });

  it('keygen --root refuses the same key given twice in two encodings', async () => {
    const files = { a: join(dir, 'a.pub'), ac: join(dir, 'a-compressed.pub'), b: join(dir, 'b.pub'), out: join(dir, 'root.json') };
    writeFileSync(files.a, publicKeyPem(a.publicKey));
    writeFileSync(files.ac, aCompressed.pem);
    writeFileSync(files.b, publicKeyPem(b.publicKey));
    const keyFile = join(dir, 'a.key');
    writeFileSync(keyFile, a.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const code = await cli(keygen, ['--root', files.out, '--pub', files.a, '--pub', files.ac, '--pub', files.b, '--threshold', '2', '--sign', keyFile]);
    expect(code).not.toBe(0);
    expect(printed.err).toContain('[trust-root-invalid]');
    expect(printed.err).toContain('listed twice');
    expect(printed.out).not.toMatch(/2 of 3 keys/);
    expect(existsSync(files.out)).toBe(false);
  });
});
