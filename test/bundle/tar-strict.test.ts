/**
 * The tar reader accepts only what the writer writes: every header field the writer fixes is checked byte for byte,
 * by the one reader the gate, the co-signer and the stores share. Each hostile header is crafted byte-wise (with a
 * correct checksum, as an attacker would), and signed bundles around it stay otherwise valid, so only the header
 * check can stop them.
 */
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  cosignBundle,
  parseTarHeader,
  readTarEntries,
  verifyBundle,
  writeTar,
} from '../../pipeline/core/bundle/index.js';
import { splitBundle } from '../../pipeline/stores/bundle-entries.js';
import { StoreError } from '../../pipeline/stores/errors.js';
import { T0, bundle, newKey, patchTarHeader, trustOf } from './fixtures.js';

const key = newKey();
const trust = trustOf([key], 1);
const now = new Date(T0.getTime() + 3600_000);
const good = bundle(1, [key]);
const BPF = 'components/palisade.bpf.o';

/** Each field the writer fixes, with a value an attacker would put there instead. */
const HOSTILE: readonly [field: string, offset: number, value: string][] = [
  ['mode', 100, '0006777\0'], // setuid + setgid, world-writable
  ['mode', 100, '0000755\0'],
  ['uid', 108, '0001750\0'],
  ['gid', 116, '0001750\0'],
  ['mtime', 136, '14712345670\0'],
  ['typeflag', 156, '2'], // symbolic link
  ['typeflag', 156, '\0'], // old-style regular file
  ['linkname', 157, '/etc/shadow'],
  ['magic', 257, 'ustar '],
  ['version', 263, ' \0'],
  ['uname', 265, 'root'],
  ['gname', 297, 'wheel'],
  ['devmajor', 329, '0000001\0'],
  ['devminor', 337, '0000003\0'],
  ['prefix', 345, 'usr/bin'],
  ['padding', 500, 'hidden'],
];

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  return (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (e: unknown) => e);
}

describe('strict tar reader', () => {
  it.each(HOSTILE.map(([f, o, v]) => [f, JSON.stringify(v), o, v] as const))(
    'a %s field of %s is refused by the gate, the co-signer and the stores',
    async (field, _shown, offset, value) => {
      for (const entry of ['manifest.json', BPF]) {
        const file = patchTarHeader(good, entry, offset, value);
        const reason = field === 'magic' || field === 'version' ? 'not a ustar header' : `'${entry}': ${field} field is`;
        const gate = await rejection(verifyBundle(file, { trust, now }));
        expect(gate).toBeInstanceOf(BundleError);
        expect(gate).toMatchObject({ code: 'bundle-malformed' });
        expect((gate as Error).message).toContain(reason);
        expect(await rejection(() => readTarEntries(file))).toMatchObject({ code: 'bundle-malformed' });
        expect(await rejection(() => cosignBundle(file, [newKey()]))).toMatchObject({ code: 'bundle-malformed' });
        const store = await rejection(() => splitBundle(file));
        expect(store).toBeInstanceOf(StoreError);
        expect(store).toMatchObject({ code: 'store-bad-input', cause: { code: 'bundle-malformed' } });
      }
    },
  );

  it('a setuid-root component in a signed bundle is refused, naming the entry and the field', async () => {
    const file = patchTarHeader(good, BPF, 100, '0006755\0');
    const e = (await rejection(verifyBundle(file, { trust, now }))) as BundleError;
    expect(e.code).toBe('bundle-malformed');
    expect(e.exitCode).toBe(10);
    expect(e.message).toBe(`tar: '${BPF}': mode field is "0006755\\x00", the format allows only "0000644\\x00"`);
  });

  it('a wrong header checksum is refused', async () => {
    const file = new Uint8Array(good);
    file[148] = file[148]! === 0x30 ? 0x31 : 0x30; // manifest.json's header is the first block
    const e = (await rejection(verifyBundle(file, { trust, now }))) as BundleError;
    expect(e.code).toBe('bundle-malformed');
    expect(e.message).toContain("'manifest.json': checksum field is");
  });

  it('entry name text in a reason is escaped', async () => {
    const name = 'components/\x1b[31mevil"\\\x7f\xff';
    const file = patchTarHeader(good, BPF, 0, name.padEnd(100, '\0'));
    const e = (await rejection(verifyBundle(file, { trust, now }))) as BundleError;
    expect(e.code).toBe('bundle-malformed');
    expect(e.message).toBe('tar: entry name "components/\\x1b[31mevil\\x22\\x5c\\x7f\\xff" not allowed');
    expect(e.message).not.toMatch(/[\x00-\x1f\x7f-\xff]/);
    // Bytes after the name's NUL must be zero too (nothing hides behind the name).
    const hidden = patchTarHeader(good, BPF, 40, 'x');
    expect(((await rejection(verifyBundle(hidden, { trust, now }))) as BundleError).message).toContain(`'${BPF}': name field is`);
  });

  it('accepts every header the writer writes, and gives back what was written', () => {
    const entries = [{ name: 'manifest.json', bytes: new Uint8Array(0) }, { name: 'a/b-c_d.e', bytes: new Uint8Array(513).fill(7) }];
    const file = writeTar(entries);
    expect(readTarEntries(file).map((e) => [e.name, e.bytes.byteLength])).toEqual([['manifest.json', 0], ['a/b-c_d.e', 513]]);
    expect(parseTarHeader(file.subarray(0, 512))).toEqual({ name: 'manifest.json', size: 0 });
    expect(Buffer.from(writeTar(splitBundle(good))).equals(Buffer.from(good))).toBe(true);
  });
});
