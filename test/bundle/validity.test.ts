/**
 * Regression for "publishing an already-expired bundle succeeds": the validity window of a build (createdAt from the
 * commit, expiresAt from --expires / --expires-in / --expires-at), the check publishing applies to it, and
 * `palisade compile`'s loud warning for a bundle that is expired or about to be. Runs the compile command in-process
 * on a real git repository whose commit is old.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run as compile } from '../../pipeline/cli/commands/compile.js';
import { BundleExpiryError, DEFAULT_MIN_VALIDITY_MS, buildBundleFromDir, formatDuration, validityProblem } from '../../pipeline/bundle-build/index.js';
import { parseManifest } from '../../pipeline/core/bundle/manifest.js';
import { captureOutput, cli, printed } from './capture.js';
import { makePolicyRepo } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-validity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
captureOutput();

const DAY = 86_400_000;
const daysAgo = (n: number): string => new Date(Date.now() - n * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
// One commit time for the whole file: every expectation below derives from this same instant.
const OLD_COMMIT = daysAgo(40);
const oldRepo = makePolicyRepo(dir, { name: 'old-repo', commitDate: OLD_COMMIT });

function manifestOf(file: string): { createdAt: string; expiresAt: string } {
  // The manifest is the first tar entry: its JSON starts at byte 512.
  const bytes = readFileSync(file);
  const size = parseInt(bytes.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  return parseManifest(JSON.parse(bytes.subarray(512, 512 + size).toString('utf8')));
}

describe('validityProblem', () => {
  const window = { createdAt: new Date('2026-10-01T00:00:00Z'), expiresAt: new Date('2026-10-31T00:00:00Z'), createdFrom: 'commit time' as const };

  it('an expired bundle is bundle-build-expired, naming its expiry and how long ago', () => {
    const p = validityProblem(window, new Date('2026-11-10T00:00:00Z'), DEFAULT_MIN_VALIDITY_MS);
    expect(p).toBeInstanceOf(BundleExpiryError);
    expect(p!.code).toBe('bundle-build-expired');
    expect(p!.message).toContain('expires 2026-10-31T00:00:00Z, 10d ago');
    expect(p!.message).toContain('created 2026-10-01T00:00:00Z (commit time)');
    expect(p!.message).toContain('--expires-in');
  });

  it('a bundle valid for less than the margin is bundle-build-expires-soon; at the margin it is fine', () => {
    const soon = validityProblem(window, new Date('2026-10-29T12:00:00Z'), DEFAULT_MIN_VALIDITY_MS);
    expect(soon!.code).toBe('bundle-build-expires-soon');
    expect(soon!.message).toContain('expires in 1d12h, less than the 3d required');
    expect(validityProblem(window, new Date('2026-10-28T00:00:00Z'), DEFAULT_MIN_VALIDITY_MS)).toBeUndefined();
    expect(validityProblem(window, new Date('2026-10-29T12:00:00Z'), DAY)).toBeUndefined();
  });

  it('formatDuration keeps the two largest units', () => {
    expect(formatDuration(10 * DAY + 3 * 3_600_000 + 61_000)).toBe('10d3h');
    expect(formatDuration(10 * DAY + 5 * 60_000)).toBe('10d');
    expect(formatDuration(45 * 60_000)).toBe('45m');
    expect(formatDuration(-5)).toBe('0s');
  });
});

describe('building an old commit', () => {
  it('with minValidityMs, the build refuses before composing anything', async () => {
    const err = await buildBundleFromDir({ policiesDir: join(oldRepo, 'policies'), keys: [], minValidityMs: DEFAULT_MIN_VALIDITY_MS })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleExpiryError);
    expect((err as BundleExpiryError).code).toBe('bundle-build-expired');
    expect((err as BundleExpiryError).expiresAt.getTime()).toBe(Date.parse(OLD_COMMIT) + 30 * DAY);
  });

  it('palisade compile writes it (reproducible rebuild) but warns loudly on stderr', async () => {
    const out = join(dir, 'old.bundle');
    expect(await cli(compile, ['--policies', join(oldRepo, 'policies'), '--out', out])).toBe(0);
    expect(printed.err).toMatch(/^palisade compile: WARNING: the bundle is expired: .*10d ago.* \[bundle-build-expired\]$/m);
    expect(manifestOf(out).expiresAt).toBe(new Date(Date.parse(OLD_COMMIT) + 30 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('--expires-at gives the same bytes on every rebuild; --expires-in counts from now; no warning then', async () => {
    const at = new Date(Date.now() + 20 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const files = ['a', 'b'].map((n) => join(dir, `at-${n}.bundle`));
    for (const f of files) expect(await cli(compile, ['--policies', join(oldRepo, 'policies'), '--out', f, '--expires-at', at])).toBe(0);
    expect(readFileSync(files[0]!).equals(readFileSync(files[1]!))).toBe(true);
    expect(manifestOf(files[0]!)).toMatchObject({ createdAt: OLD_COMMIT, expiresAt: at });
    expect(printed.err).not.toContain('WARNING');

    const inFile = join(dir, 'in.bundle');
    const before = Math.floor(Date.now() / 1000) * 1000;
    expect(await cli(compile, ['--policies', join(oldRepo, 'policies'), '--out', inFile, '--expires-in', '7d'])).toBe(0);
    const expires = Date.parse(manifestOf(inFile).expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 7 * DAY);
  });

  it('the expiry flags are exclusive and checked', async () => {
    const base = ['--policies', join(oldRepo, 'policies'), '--out', join(dir, 'x.bundle')];
    expect(await cli(compile, [...base, '--expires', '30d', '--expires-in', '30d'])).toBe(2);
    expect(printed.err).toContain('use one of --expires, --expires-in and --expires-at');
    expect(await cli(compile, [...base, '--expires-at', 'next tuesday'])).toBe(2);
    expect(printed.err).toContain('--expires-at must be an RFC 3339 time');
    expect(await cli(compile, [...base, '--expires-at', new Date(Date.parse(OLD_COMMIT) - DAY).toISOString()])).toBe(1);
    expect(printed.err).toContain('expiresAt must be after createdAt');
  });
});
