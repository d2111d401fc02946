/**
 * Key files and the serial minimum, as a user meets them: a certificate or a file with two keys is refused (not
 * half-read), integer flags are read strictly, and `--min-serial N` accepts serial N so that an agent re-verifying
 * the bundle it runs after a restart passes, while older serials and stale rollbacks stay refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run as keygen } from '../../pipeline/cli/commands/keygen.js';
import { run as verify } from '../../pipeline/cli/commands/verify.js';
import { readPublicKeyFile, readSigningKeys, readTrust } from '../../pipeline/bundle-build/keys-io.js';
import { BUNDLE_ERROR_EXIT, BundleError, BundleGate, assembleBundle, parsePublicKey, publicKeyPem } from '../../pipeline/core/bundle/index.js';
import { captureOutput, cli, printed } from './capture.js';
import { T0, bundle, components, manifestInput, newKey, trustOf } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-key-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
captureOutput();

const signer = newKey();
const pubFile = join(dir, 'signer.pub');
writeFileSync(pubFile, publicKeyPem(signer.publicKey));

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(BundleError);
  return (e as BundleError).code;
}

describe('key files', () => {
  it('an X.509 certificate is refused as a key file, with a message that says what to give instead', async () => {
    const keyPath = join(dir, 'cert.key');
    const certPath = join(dir, 'cert.pem');
    writeFileSync(keyPath, signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    // A real self-signed P-256 certificate for the trusted key (its validity would never have been checked).
    execFileSync('openssl', ['req', '-new', '-x509', '-key', keyPath, '-out', certPath, '-subj', '/CN=palisade-test', '-days', '1'], { stdio: 'pipe' });
    expect(readFileSync(certPath, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(await codeOf(readPublicKeyFile(certPath))).toBe('bundle-key-invalid');
    const file = join(dir, 'b.bundle');
    writeFileSync(file, bundle(1, [signer], { createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2036-01-01T00:00:00Z') }));
    expect(await cli(verify, [file, '--trust', certPath])).toBe(BUNDLE_ERROR_EXIT['bundle-key-invalid']);
    expect(printed.err).toMatch(/cert\.pem: an X\.509 certificate, not a public key; give its key alone \(openssl x509 -pubkey -noout -in FILE\) \[bundle-key-invalid\]\n$/);
  });

  it('a key file holding a second key is refused, not half-read', async () => {
    const other = newKey();
    const two = join(dir, 'two.pub');
    writeFileSync(two, publicKeyPem(signer.publicKey) + publicKeyPem(other.publicKey));
    expect(await codeOf(readPublicKeyFile(two))).toBe('bundle-key-invalid');
    expect(await codeOf(readTrust([two], new Date()))).toBe('bundle-key-invalid');
    expect(() => parsePublicKey(readFileSync(two, 'utf8'), 'two.pub')).toThrow(/two\.pub: holds 2 PEM blocks; a key file holds exactly one key/);
    const twoPrivate = join(dir, 'two.key');
    writeFileSync(twoPrivate, `${signer.privateKey.export({ type: 'pkcs8', format: 'pem' })}${other.privateKey.export({ type: 'pkcs8', format: 'pem' })}`);
    expect(await codeOf(readSigningKeys([twoPrivate], {}))).toBe('bundle-key-invalid');
    // Nor may anything else ride along beside the one block.
    const trailing = join(dir, 'trailing.pub');
    writeFileSync(trailing, `${publicKeyPem(signer.publicKey)}ssh-ed25519 AAAA…\n`);
    expect(await codeOf(readPublicKeyFile(trailing))).toBe('bundle-key-invalid');
    // The one-key file still reads, with or without its trailing newline.
    expect((await readPublicKeyFile(pubFile)).keyId).toBe(signer.keyId);
    expect(parsePublicKey(publicKeyPem(signer.publicKey).trimEnd(), 'x').keyId).toBe(signer.keyId);
  });
});

describe('integer flags', () => {
  it.each([' ', '', '0x10', '1e3', '-1', '+5', '1.0', ' 7', '٣', '9999999999999999'])('--min-serial %j is a usage error', async (text) => {
    const file = join(dir, 'any.bundle');
    writeFileSync(file, new Uint8Array(0));
    expect(await cli(verify, [file, '--trust', pubFile, `--min-serial=${text}`])).toBe(2);
    expect(printed.err).toContain(`--min-serial must be a decimal integer of at least 0, in digits only (got ${JSON.stringify(text)})`);
  });

  it('--min-rollback-of, --max-bytes and keygen --threshold are read as strictly', async () => {
    const file = join(dir, 'any.bundle');
    expect(await cli(verify, [file, '--trust', pubFile, '--min-rollback-of', '0x1'])).toBe(2);
    expect(await cli(verify, [file, '--trust', pubFile, '--max-bytes', '0x10'])).toBe(2);
    expect(await cli(verify, [file, '--trust', pubFile, '--max-bytes', '0'])).toBe(2);
    expect(await cli(keygen, ['--root', join(dir, 'r.json'), '--pub', pubFile, '--threshold', '0x1', '--sign', join(dir, 'cert.key')])).toBe(2);
    expect(printed.err).toContain('--threshold must be a decimal integer of at least 1');
  });
});

describe('serial minimum', () => {
  const now = new Date(T0.getTime() + 3600_000);
  const trust = trustOf([signer], 1);

  it('--min-serial N accepts serial N: an agent re-verifies the bundle it runs after a restart', async () => {
    const file = join(dir, 'seven.bundle');
    const far = { createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2036-01-01T00:00:00Z') };
    writeFileSync(file, assembleBundle(manifestInput(7, far), components(), [signer]).bytes);
    expect(await cli(verify, [file, '--trust', pubFile, '--min-serial', '7'])).toBe(0);
    expect(printed.out).toMatch(/^ok: serial 7, .*next --min-serial 7 --min-rollback-of 7\n$/);
    expect(await cli(verify, [file, '--trust', pubFile, '--min-serial', '8'])).toBe(BUNDLE_ERROR_EXIT['bundle-rollback']);
  });

  it('a gate restarted from its saved state admits the bundle it runs again, and nothing older', async () => {
    const g = new BundleGate({ trust }, { clock: () => now });
    const seven = bundle(7, [signer]);
    await g.admit([seven]);
    const restarted = new BundleGate({ trust, minSerial: g.state.minSerial, minRollbackOf: g.state.minRollbackOf }, { clock: () => now });
    await restarted.admit([seven]);
    expect(restarted.state.minSerial).toBe(7);
    expect(await codeOf(restarted.admit([bundle(6, [signer])]))).toBe('bundle-rollback');
    expect(await codeOf(restarted.admit([bundle(2, [signer], { rollbackOf: 6 })]))).toBe('bundle-rollback'); // stale rollback
    // After a rollback of 7, the rollback re-verifies after a restart; the rolled-back serial 7 does not.
    const rollback = bundle(3, [signer], { rollbackOf: 7 });
    await restarted.admit([rollback]);
    const again = new BundleGate({ trust, minSerial: restarted.state.minSerial, minRollbackOf: restarted.state.minRollbackOf }, { clock: () => now });
    expect([again.state.minSerial, again.state.minRollbackOf]).toEqual([8, 7]);
    await again.admit([rollback]);
    expect(await codeOf(again.admit([seven]))).toBe('bundle-rollback');
    await again.admit([bundle(8, [signer])]);
  });
});
