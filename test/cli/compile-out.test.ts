/**
 * Defect: `compile --out` replaced a device node or FIFO with a regular file (as root, `--out /dev/null` would have
 * replaced the system's /dev/null). Now only a regular file or a new name is written; anything else is refused
 * with one line, exit 2, and left as it was. Real processes; a FIFO, a device node made with mknod in our own
 * directory, and a symlink to /dev/null (never /dev/null itself).
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { palisade, REPO_ROOT, requireDist } from './palisade-process.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-compile-out-'));
const policies = join(REPO_ROOT, 'policy-repo-template/policies');
beforeAll(() => {
  requireDist();
  execFileSync('mkfifo', [join(dir, 'out.fifo')]);
  execFileSync('mknod', [join(dir, 'null-twin'), 'c', '1', '3']);
  symlinkSync('/dev/null', join(dir, 'to-dev-null'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('palisade compile --out', () => {
  const cases: [string, string][] = [
    ['out.fifo', 'is a FIFO'],
    ['null-twin', 'is a character device'],
    ['to-dev-null', 'is a symlink to a character device'],
  ];
  for (const [name, kind] of cases) {
    it(`refuses ${name} (${kind.replace(/^is /, '')}): exit 2, one line, nothing changed`, () => {
      const target = join(dir, name);
      const before = lstatSync(target);
      const r = palisade(['compile', '--policies', policies, '--out', target]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.replace(/^palisade compile: note: .*\n/m, '')).toBe(
        `${target}: error: ${kind}, not a regular file: refusing to write over it [io-not-regular-file]\n`,
      );
      const after = lstatSync(target);
      expect([after.ino, after.mode, after.rdev]).toEqual([before.ino, before.mode, before.rdev]);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('/dev/null is still the system\'s character device', () => {
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('replaces a regular file with the new bundle', () => {
    const target = join(dir, 'bundle.tar');
    writeFileSync(target, 'an older bundle');
    const r = palisade(['compile', '--policies', policies, '--out', target]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${target}: serial \\d+`));
    expect(readFileSync(target).subarray(0, 13).toString()).toBe('manifest.json');
    expect(statSync(target).mode & 0o777).toBe(0o644);
  });
});
