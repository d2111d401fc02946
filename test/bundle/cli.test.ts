/**
 * The keygen and verify commands, run in-process through their `run` functions against real files: key file modes,
 * no overwriting, trust root creation and rotation, and verify's exit codes and one-line reasons.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as keygen } from '../../pipeline/cli/commands/keygen.js';
import { run as verify } from '../../pipeline/cli/commands/verify.js';
import { captureOutput, cli, printed } from './capture.js';
import { BUNDLE_ERROR_EXIT, keyIdOf, parsePublicKey, parseSigningKey, type SigningKey } from '../../pipeline/core/bundle/index.js';
import { bundle, entryOffset, manifestInput, components } from './fixtures.js';
import { assembleBundle } from '../../pipeline/core/bundle/index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

captureOutput();

async function newKeyFiles(name: string): Promise<SigningKey> {
  expect(await cli(keygen, ['--out', join(dir, name)])).toBe(0);
  return parseSigningKey(readFileSync(join(dir, `${name}.key`), 'utf8'), name);
}

// A far-future expiry so that verify (which uses the real clock) accepts these bundles.
const farInput = (serial: number, extra = {}) =>
  manifestInput(serial, { createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2036-01-01T00:00:00Z'), ...extra });

function writeBundle(name: string, keys: SigningKey[], serial = 5, extra = {}): string {
  const p = join(dir, name);
  writeFileSync(p, assembleBundle(farInput(serial, extra), components(), keys).bytes);
  return p;
}

describe('palisade keygen', () => {
  it('writes PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub (SPKI) and prints the key ID', async () => {
    const k = await newKeyFiles('alice');
    const keyPath = join(dir, 'alice.key');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const pub = readFileSync(join(dir, 'alice.pub'), 'utf8');
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(parsePublicKey(pub, 'alice.pub').keyId).toBe(k.keyId);
    expect(keyIdOf(k.publicKey)).toMatch(/^[0-9a-f]{64}$/);
    expect(printed.out).toContain(k.keyId);
  });

  it('never overwrites an existing key', async () => {
    const before = readFileSync(join(dir, 'alice.key'), 'utf8');
    expect(await cli(keygen, ['--out', join(dir, 'alice')])).not.toBe(0);
    expect(readFileSync(join(dir, 'alice.key'), 'utf8')).toBe(before);
  });

  it('writes a 2-of-2 trust root and a rotation signed by the old threshold', async () => {
    const a = await newKeyFiles('ra');
    const b = await newKeyFiles('rb');
    const root1 = join(dir, 'root1.json');
    expect(await cli(keygen, ['--root', root1, '--pub', join(dir, 'ra.pub'), '--pub', join(dir, 'rb.pub'), '--threshold', '2', '--sign', join(dir, 'ra.key'), '--sign', join(dir, 'rb.key')])).toBe(0);
    // A bundle signed by one of the two keys fails the threshold; by both, it passes.
    expect(await cli(verify, [writeBundle('one.bundle', [a]), '--trust', root1])).toBe(BUNDLE_ERROR_EXIT['bundle-threshold']);
    expect(printed.err).toMatch(/1 valid of 2 required/);
    expect(await cli(verify, [writeBundle('two.bundle', [a, b]), '--trust', root1])).toBe(0);
    // Rotate to key c alone: signed by a and b (old threshold) and c (its own).
    const c = await newKeyFiles('rc');
    const root2 = join(dir, 'root2.json');
    const rotate = (out2: string, signers: string[]) =>
      cli(keygen, ['--root', out2, '--pub', join(dir, 'rc.pub'), '--threshold', '1', '--previous', root1, ...signers.flatMap((s) => ['--sign', join(dir, s)])]);
    expect(await rotate(join(dir, 'root2-bad.json'), ['ra.key', 'rc.key'])).toBe(1);
    expect(printed.err).toMatch(/signed by 1 keys of root v1, its threshold is 2 \[trust-root-invalid\]/);
    expect(existsSync(join(dir, 'root2-bad.json'))).toBe(false);
    expect(await rotate(root2, ['ra.key', 'rb.key', 'rc.key'])).toBe(0);
    expect(await cli(verify, [writeBundle('c.bundle', [c]), '--trust', root1, '--trust', root2])).toBe(0);
    expect(printed.out).toContain('trust root v2');
    expect(await cli(verify, [join(dir, 'two.bundle'), '--trust', root1, '--trust', root2])).toBe(BUNDLE_ERROR_EXIT['bundle-unknown-key']);
  });
});

describe('palisade verify', () => {
  it('exits 0 with one ok line for a good bundle', async () => {
    const k = await newKeyFiles('v');
    const p = writeBundle('good.bundle', [k]);
    printed.clear();
    expect(await cli(verify, [p, '--trust', join(dir, 'v.pub')])).toBe(0);
    expect(await cli(verify, [p, '--trust', join(dir, 'v')])).toBe(0); // the keygen PREFIX works too
    printed.clear();
    expect(await cli(verify, [p, '--trust', join(dir, 'v.pub')])).toBe(0);
    expect(printed.out).toMatch(/^ok: serial 5, manifest sha256:[0-9a-f]{64}, signed by 1 of 1 required .*next --min-serial 5 --min-rollback-of 5\n$/);
  });

  it('exits with the reason\'s own code and one line for each rejection', async () => {
    const k = parseSigningKey(readFileSync(join(dir, 'v.key'), 'utf8'), 'v');
    const pub = join(dir, 'v.pub');
    const good = readFileSync(join(dir, 'good.bundle'));
    const bpf = entryOffset(good, 'components/palisade.bpf.o');
    const tampered = new Uint8Array(good);
    tampered[bpf.data + 7] = tampered[bpf.data + 7]! ^ 1;
    writeFileSync(join(dir, 'tampered.bundle'), tampered);
    writeFileSync(join(dir, 'truncated.bundle'), good.subarray(0, good.length - 700));
    writeFileSync(join(dir, 'trailing.bundle'), Buffer.concat([good, Buffer.alloc(10)]));
    const cases: [string, string[], keyof typeof BUNDLE_ERROR_EXIT][] = [
      ['tampered.bundle', [], 'bundle-component-mismatch'],
      ['truncated.bundle', [], 'bundle-truncated'],
      ['trailing.bundle', [], 'bundle-oversize'],
      ['good.bundle', ['--min-serial', '6'], 'bundle-rollback'],
      ['good.bundle', ['--max-bytes', '2048'], 'bundle-oversize'],
    ];
    for (const [file, extra, code] of cases) {
      printed.err = '';
      expect(await cli(verify, [join(dir, file), '--trust', pub, ...extra]), `${file} ${extra.join(' ')}`).toBe(BUNDLE_ERROR_EXIT[code]);
      expect(printed.err).toMatch(new RegExp(`^palisade verify: .*\\[${code}\\]\\n$`));
    }
    printed.err = '';
    expect(await cli(verify, [writeBundle('abi.bundle', [k], 5, { abiVersion: 9 }), '--trust', pub])).toBe(BUNDLE_ERROR_EXIT['bundle-abi-mismatch']);
    expect(await cli(verify, [writeBundle('expired.bundle', [k], 5, { expiresAt: new Date('2026-02-01T00:00:00Z') }), '--trust', pub])).toBe(BUNDLE_ERROR_EXIT['bundle-expired']);
    // Usage and unreadable trust are not bundle verdicts.
    expect(await cli(verify, [join(dir, 'good.bundle')])).toBe(2);
    expect(await cli(verify, [join(dir, 'good.bundle'), '--trust', join(dir, 'missing.pub')])).toBe(2);
    expect(printed.err).not.toMatch(/\n\s+at /); // no stack traces
  });
});
