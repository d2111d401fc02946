/**
 * Independent tools accept Palisade's signatures: `@sigstore/verify` (offline, key-based trust material) reads the
 * stored Sigstore v0.3 bundle, and `openssl dgst` checks the DER signature over the DSSE PAE bytes. Both also reject
 * a tampered payload. The bundle file itself is a plain tar that system `tar` lists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_V03_MEDIA_TYPE, assertBundleLatest, bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial, type KeyFinderFunc } from '@sigstore/verify';
import {
  IN_TOTO_PAYLOAD_TYPE,
  PALISADE_PREDICATE_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  preAuthEncoding,
  publicKeyPem,
  sha256Hex,
  type SigningKey,
} from '../../pipeline/core/bundle/index.js';
import { bundle, entryOffset, newKey } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const signer = newKey();
const file = bundle(3, [signer]);

function signatureJson(f: Uint8Array, key: SigningKey): Record<string, any> {
  const e = entryOffset(f, `signatures/${key.keyId}.sigstore.json`);
  return JSON.parse(Buffer.from(f.subarray(e.data, e.data + e.size)).toString('utf8'));
}

/** The same Sigstore bundle with one payload byte changed (the serial digit). */
function tampered(json: Record<string, any>): Record<string, any> {
  const payload = Buffer.from(json.dsseEnvelope.payload, 'base64');
  payload[payload.indexOf('"serial":3') + 9] = '4'.charCodeAt(0);
  return { ...json, dsseEnvelope: { ...json.dsseEnvelope, payload: payload.toString('base64') } };
}

function sigstoreVerifier(key: SigningKey): Verifier {
  const keys: KeyFinderFunc = (hint) => {
    if (hint !== key.keyId) throw new Error(`unknown key ${hint}`);
    return { publicKey: key.publicKey, validFor: () => true };
  };
  const material = toTrustMaterial(
    { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    keys,
  );
  // Offline and key-based: no transparency log, no timestamps.
  return new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}

describe('interoperability', () => {
  it('stores an in-toto Statement over the manifest in a Sigstore v0.3 bundle', () => {
    const json = signatureJson(file, signer);
    expect(json.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(json.verificationMaterial.publicKey.hint).toBe(signer.keyId);
    expect(json.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    const st = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
    const m = entryOffset(file, 'manifest.json');
    expect(st._type).toBe('https://in-toto.io/Statement/v1');
    expect(st.predicateType).toBe(PALISADE_PREDICATE_TYPE);
    expect(st.subject).toEqual([{ name: 'manifest.json', digest: { sha256: sha256Hex(file.subarray(m.data, m.data + m.size)) } }]);
    expect(st.predicate.serial).toBe(3);
  });

  it('@sigstore/verify accepts a good bundle and rejects a tampered one', () => {
    const v = sigstoreVerifier(signer);
    const json = signatureJson(file, signer);
    expect(json.mediaType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(() => assertBundleLatest(bundleFromJSON(json))).not.toThrow(); // a well-formed v0.3 bundle
    expect(bundleToJSON(bundleFromJSON(json))).toEqual(json); // and exactly the protobuf JSON mapping
    const signerOut = v.verify(toSignedEntity(bundleFromJSON(json)));
    expect(signerOut.key.export({ type: 'spki', format: 'der' })).toEqual(signer.publicKey.export({ type: 'spki', format: 'der' }));
    expect(() => v.verify(toSignedEntity(bundleFromJSON(tampered(json))))).toThrow(/signature verification failed/);
    // A bundle signed by another key is refused by the key finder.
    const other = newKey();
    expect(() => v.verify(toSignedEntity(bundleFromJSON(signatureJson(bundle(3, [other]), other))))).toThrow(/unknown key/);
  });

  it('openssl accepts the signature over the DSSE PAE bytes and rejects a tampered payload', () => {
    const pub = join(dir, 'pub.pem');
    writeFileSync(pub, publicKeyPem(signer.publicKey));
    const check = (json: Record<string, any>, name: string): { status: number | null; out: string } => {
      const pae = preAuthEncoding(json.dsseEnvelope.payloadType, Buffer.from(json.dsseEnvelope.payload, 'base64'));
      writeFileSync(join(dir, `${name}.pae`), pae);
      writeFileSync(join(dir, `${name}.der`), Buffer.from(json.dsseEnvelope.signatures[0].sig, 'base64'));
      const r = spawnSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(dir, `${name}.der`), join(dir, `${name}.pae`)], { encoding: 'utf8' });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const json = signatureJson(file, signer);
    const good = check(json, 'good');
    expect(good.out).toContain('Verified OK');
    expect(good.status).toBe(0);
    const bad = check(tampered(json), 'bad');
    expect(bad.out).toContain('Verification failure');
    expect(bad.status).not.toBe(0);
  });

  it('system tar lists the bundle file', () => {
    const path = join(dir, 'b.bundle');
    writeFileSync(path, file);
    const list = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
    expect(list).toEqual([
      'manifest.json',
      `signatures/${signer.keyId}.sigstore.json`,
      'components/policy-model.json',
      'components/palisade.bpf.o',
      'components/probes.jsonl',
    ]);
    // And extracts every component byte for byte.
    const bpf = entryOffset(file, 'components/palisade.bpf.o');
    expect(execFileSync('tar', ['-xOf', path, 'components/palisade.bpf.o']).equals(Buffer.from(file.subarray(bpf.data, bpf.data + bpf.size)))).toBe(true);
    expect(execFileSync('tar', ['-tvf', path], { encoding: 'utf8' })).toMatch(/^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 manifest\.json$/m);
  });
});
