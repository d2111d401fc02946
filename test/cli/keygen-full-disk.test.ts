/**
 * Defect: `keygen` on a full disk left a 0-byte `.key`, and the retry failed with EEXIST. Now the pair is written
 * to temp files first and linked into place only when both are complete: on a real full tmpfs nothing is left
 * behind, and the retry after freeing space succeeds, with the private key 0600.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey, parseSigningKey } from '../../pipeline/core/bundle/index.js';
import { mountSmallTmpfs, type SmallTmpfs } from '../support/small-tmpfs.js';
import { palisade, requireDist } from './palisade-process.js';

let fs: SmallTmpfs;
beforeAll(() => {
  requireDist();
  fs = mountSmallTmpfs(64);
});
afterAll(() => fs.unmount());

describe('palisade keygen on a full disk', () => {
  it('fails with one line and leaves no file; after freeing space the same command succeeds', () => {
    const prefix = join(fs.dir, 'release');
    fs.fill();
    const full = palisade(['keygen', '--out', prefix]);
    expect(full.status).toBe(2);
    expect(full.stdout).toBe('');
    expect(full.stderr).toMatch(new RegExp(`^${prefix}\\.(key|pub): error: cannot write: ENOSPC: no space left on device \\[io-write\\]\\n$`));
    expect(readdirSync(fs.dir)).toEqual(['fill']);

    fs.free();
    const retry = palisade(['keygen', '--out', prefix]);
    expect(retry.status, retry.stderr).toBe(0);
    expect(readdirSync(fs.dir).sort()).toEqual(['release.key', 'release.pub']);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    const key = parseSigningKey(readFileSync(`${prefix}.key`, 'utf8'), 'release.key');
    expect(parsePublicKey(readFileSync(`${prefix}.pub`, 'utf8'), 'release.pub').keyId).toBe(key.keyId);
    expect(retry.stdout).toBe(`${key.keyId}  ${prefix}.key ${prefix}.pub\n`);
  });

  it('still never overwrites an existing key pair', () => {
    const prefix = join(fs.dir, 'release');
    const before = readFileSync(`${prefix}.key`, 'utf8');
    const again = palisade(['keygen', '--out', prefix]);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`${prefix}.key: error: already exists: not overwritten [io-exists]\n`);
    expect(readFileSync(`${prefix}.key`, 'utf8')).toBe(before);
  });
});
