/**
 * The one writer for files a user names (`compile --out`, `keygen`): atomic replace of a regular file, refusal of
 * anything else (FIFO, device node, socket, directory, symlink to one) with nothing changed, modes from creation,
 * no temp file left behind on any failure, and key pairs that appear together or not at all, on a real full disk.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeNewFilesTogether } from '../../pipeline/stores/index.js';
import { InputError } from '../../pipeline/core/errors.js';
import { mountSmallTmpfs, type SmallTmpfs } from '../support/small-tmpfs.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-fs-atomic-'));
let socketServer: Server;
beforeAll(async () => {
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  // A twin of /dev/null (char 1:3) in our own directory: the real one is never touched.
  execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3']);
  symlinkSync('/dev/null', join(dir, 'to-dev-null'));
  symlinkSync(join(dir, 'fifo'), join(dir, 'to-fifo'));
  mkdirSync(join(dir, 'a-dir'));
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(join(dir, 'sock'), resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => socketServer.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Names in `d` that look like our temp files. */
function temps(d: string): string[] {
  return readdirSync(d).filter((n) => n.endsWith('.tmp'));
}

async function refusal(p: Promise<void>): Promise<InputError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('writeFileAtomic', () => {
  it('creates a new file with the exact mode, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await writeFileAtomic({ path: join(dir, 'new.bin'), bytes: 'hello', mode: 0o644 }, { overwrite: true });
    } finally {
      process.umask(old);
    }
    expect(readFileSync(join(dir, 'new.bin'), 'utf8')).toBe('hello');
    expect(statSync(join(dir, 'new.bin')).mode & 0o777).toBe(0o644);
    expect(temps(dir)).toEqual([]);
  });

  it('replaces a regular file by rename (a new inode: a reader holding the old one keeps whole old bytes)', async () => {
    const p = join(dir, 'replace.bin');
    writeFileSync(p, 'old');
    const before = statSync(p).ino;
    await writeFileAtomic({ path: p, bytes: 'new', mode: 0o644 }, { overwrite: true });
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).ino).not.toBe(before);
  });

  const refused: [string, string][] = [
    ['fifo', 'is a FIFO'],
    ['null', 'is a character device'],
    ['to-dev-null', 'is a symlink to a character device'],
    ['to-fifo', 'is a symlink to a FIFO'],
    ['a-dir', 'is a directory'],
    ['sock', 'is a socket'],
  ];
  for (const [name, kind] of refused) {
    it(`refuses ${name} (${kind}) and leaves it as it was`, async () => {
      const p = join(dir, name);
      const before = lstatSync(p);
      const err = await refusal(writeFileAtomic({ path: p, bytes: 'x', mode: 0o644 }, { overwrite: true }));
      expect(err.code).toBe('io-not-regular-file');
      expect(err.message).toBe(`${kind}, not a regular file: refusing to write over it`);
      expect(err.pos?.file).toBe(p);
      const after = lstatSync(p);
      expect([after.ino, after.mode, after.rdev]).toEqual([before.ino, before.mode, before.rdev]);
      expect(temps(dir)).toEqual([]);
    });
  }

  it('leaves /dev/null itself a character device (the symlink case above only looked at it)', () => {
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('replaces a symlink to a regular file with the file, never writing through it', async () => {
    writeFileSync(join(dir, 'target.txt'), 'target');
    symlinkSync(join(dir, 'target.txt'), join(dir, 'link.txt'));
    await writeFileAtomic({ path: join(dir, 'link.txt'), bytes: 'mine', mode: 0o644 }, { overwrite: true });
    expect(lstatSync(join(dir, 'link.txt')).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'link.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, 'target.txt'), 'utf8')).toBe('target');
  });

  it('without overwrite: refuses an existing name (a dangling symlink too)', async () => {
    writeFileSync(join(dir, 'exists.txt'), 'keep');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    for (const name of ['exists.txt', 'dangling']) {
      const err = await refusal(writeFileAtomic({ path: join(dir, name), bytes: 'x', mode: 0o644 }, { overwrite: false }));
      expect(err.code).toBe('io-exists');
    }
    expect(readFileSync(join(dir, 'exists.txt'), 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'dangling')).isSymbolicLink()).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it('a missing directory: one io-write error naming the file', async () => {
    const p = join(dir, 'no-such-dir', 'f');
    const err = await refusal(writeFileAtomic({ path: p, bytes: 'x', mode: 0o644 }, { overwrite: true }));
    expect(err.code).toBe('io-write');
    expect(err.message).toBe('cannot write: ENOENT: no such file or directory');
  });
});

describe('on a full disk (a 64 KiB tmpfs filled to the last byte)', () => {
  let fs: SmallTmpfs;
  beforeAll(() => {
    fs = mountSmallTmpfs(64);
  });
  afterAll(() => fs.unmount());

  it('writeFileAtomic: ENOSPC, the old file intact, no temp file; after freeing space it succeeds', async () => {
    const p = join(fs.dir, 'bundle.tar');
    writeFileSync(p, 'old bundle');
    fs.fill();
    const err = await refusal(writeFileAtomic({ path: p, bytes: new Uint8Array(8192), mode: 0o644 }, { overwrite: true }));
    expect(err.code).toBe('io-write');
    expect(err.message).toBe('cannot write: ENOSPC: no space left on device');
    expect(readFileSync(p, 'utf8')).toBe('old bundle');
    expect(readdirSync(fs.dir).sort()).toEqual(['bundle.tar', 'fill']);
    fs.free();
    await writeFileAtomic({ path: p, bytes: new Uint8Array(8192), mode: 0o644 }, { overwrite: true });
    expect(statSync(p).size).toBe(8192);
    rmSync(p);
  });

  it('writeNewFilesTogether: neither file appears when both do not fit, and the retry writes both', async () => {
    // 15 of the 16 pages used: room for the first file's page, not for the second's.
    writeFileSync(join(fs.dir, 'fill'), Buffer.alloc(15 * 4096, 0x61));
    const pair = [
      { path: join(fs.dir, 'a.key'), bytes: 'private', mode: 0o600 },
      { path: join(fs.dir, 'a.pub'), bytes: Buffer.alloc(4096, 0x62), mode: 0o644 },
    ];
    const err = await refusal(writeNewFilesTogether(pair));
    expect(err.code).toBe('io-write');
    expect(readdirSync(fs.dir)).toEqual(['fill']);
    fs.free();
    await writeNewFilesTogether(pair);
    expect(readdirSync(fs.dir).sort()).toEqual(['a.key', 'a.pub']);
    expect(statSync(join(fs.dir, 'a.key')).mode & 0o777).toBe(0o600);
  });
});
