/**
 * Defect: a failing stdout (a full disk, a closed pipe) gave a stack trace and exit 1, which for `verify` of a good
 * bundle is neither success nor a rejection code. Now every command stops with EXIT_OUTPUT_FAILED (74): one line on
 * stderr for a full disk, nothing for a reader that went away (EPIPE). Real processes, real /dev/full, real pipes.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_ERROR_EXIT } from '../../pipeline/core/bundle/index.js';
import { EXIT_OUTPUT_FAILED } from '../../pipeline/cli/errors.js';
import { palisade, palisadeAsync, REPO_ROOT, requireDist } from './palisade-process.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-output-'));
const template = join(REPO_ROOT, 'policy-repo-template');
const bundleFile = join(dir, 'good.bundle');
const tamperedFile = join(dir, 'tampered.bundle');
let devFull: number;
let keyCount = 0;

beforeAll(() => {
  requireDist();
  devFull = openSync('/dev/full', 'w');
  expect(palisade(['keygen', '--out', join(dir, 'signer')]).status).toBe(0);
  const c = palisade(['compile', '--policies', join(template, 'policies'), '--out', bundleFile, '--key', join(dir, 'signer.key')]);
  expect(c.status, c.stderr).toBe(0);
  const bad = readFileSync(bundleFile);
  bad[700] = bad[700]! ^ 0xff;
  writeFileSync(tamperedFile, bad);
});
afterAll(() => {
  closeSync(devFull);
  rmSync(dir, { recursive: true, force: true });
});

/** One invocation of each command that writes its result to stdout. */
const commands: Record<string, () => string[]> = {
  verify: () => ['verify', bundleFile, '--trust', join(dir, 'signer.pub')],
  validate: () => ['validate', join(template, 'policies')],
  keygen: () => ['keygen', '--out', join(dir, `k${++keyCount}`)],
  compile: () => ['compile', '--policies', join(template, 'policies'), '--out', join(dir, 'again.bundle')],
  simulate: () => ['simulate', '--policies', join(template, 'policies'), '--flows', join(template, 'flows/recorded.json'), '--format', 'jsonl'],
  'version': () => ['--version'],
};

const ENOSPC_LINE = `palisade: cannot write to standard output: ENOSPC: no space left on device, write [output-failed]\n`;

describe('stdout is /dev/full (ENOSPC)', () => {
  for (const [name, args] of Object.entries(commands)) {
    it(`${name}: exit ${EXIT_OUTPUT_FAILED} and one line on stderr, no stack trace`, () => {
      const r = palisade(args(), { stdoutFd: devFull });
      expect(r.stderr.replace(/^palisade compile: note: .*\n/, '')).toBe(ENOSPC_LINE);
      expect(r.status).toBe(EXIT_OUTPUT_FAILED);
    });
  }
});

describe('stdout is a pipe whose reader has gone (EPIPE)', () => {
  for (const [name, args] of Object.entries(commands)) {
    it(`${name}: exit ${EXIT_OUTPUT_FAILED}, silently`, async () => {
      const r = await palisadeAsync(args(), { closeStdout: true });
      expect(r.stderr.replace(/^palisade compile: note: .*\n/, '')).toBe('');
      expect(r.status).toBe(EXIT_OUTPUT_FAILED);
    });
  }
});

describe('a rejection stands whatever happens to the output', () => {
  it('verify of a tampered bundle with a closed stdout: its own rejection code', async () => {
    const r = await palisadeAsync(['verify', tamperedFile, '--trust', join(dir, 'signer.pub')], { closeStdout: true });
    expect(r.status).toBeGreaterThanOrEqual(10);
    expect(Object.values(BUNDLE_ERROR_EXIT)).toContain(r.status);
    expect(r.stderr).toMatch(/^palisade verify: .* \[bundle-[a-z-]+\]\n$/);
  });

  it('verify of a tampered bundle with stderr on /dev/full: its own rejection code, no crash', () => {
    const good = palisade(['verify', tamperedFile, '--trust', join(dir, 'signer.pub')]);
    const full = palisade(['verify', tamperedFile, '--trust', join(dir, 'signer.pub')], { stderrFd: devFull });
    expect(full.status).toBe(good.status);
    expect(full.stdout).toBe('');
  });

  it('verify of a good bundle with stderr on /dev/full: still 0, the ok line on stdout', () => {
    const r = palisade(['verify', bundleFile, '--trust', join(dir, 'signer.pub')], { stderrFd: devFull });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: serial \d+, /);
  });
});
