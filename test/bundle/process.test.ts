/**
 * The signed-bundle commands as a user runs them: `bin/palisade` processes on dist/ (built by `npm test`), from
 * keygen to compile to verify, with real exit codes, one-line reasons and no stack traces.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_ERROR_EXIT } from '../../pipeline/core/bundle/index.js';
import { REPO_ROOT, entryOffset, makePolicyRepo } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist/pipeline/cli/commands/verify.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test does it) before these tests');
  }
});

function palisade(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/palisade'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/palisade keygen → compile → verify', () => {
  it('signs and verifies a bundle, and exits with each rejection\'s own code', () => {
    const prefix = join(dir, 'release');
    const kg = palisade(['keygen', '--out', prefix]);
    expect(kg.status, kg.stderr).toBe(0);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);

    const file = join(dir, 'shop.bundle');
    const tpl = join(REPO_ROOT, 'policy-repo-template');
    const c = palisade(['compile', '--policies', join(tpl, 'policies'), '--flows', join(tpl, 'flows/recorded.json'), '--out', file, '--serial', '7'], {
      PALISADE_SIGNING_KEY: readFileSync(`${prefix}.key`, 'utf8'),
    });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^wrote .*: serial 7, .*signed by [0-9a-f]{12}/);

    const ok = palisade(['verify', file, '--trust', `${prefix}.pub`]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: serial 7, /);

    // The minimum is inclusive: an agent that runs serial 7 re-verifies it after a restart; serial 8 refuses it.
    expect(palisade(['verify', file, '--trust', `${prefix}.pub`, '--min-serial', '7']).status).toBe(0);
    const rollback = palisade(['verify', file, '--trust', `${prefix}.pub`, '--min-serial', '8']);
    expect(rollback.status).toBe(BUNDLE_ERROR_EXIT['bundle-rollback']);
    expect(rollback.stderr).toMatch(/^palisade verify: .*serial 7 is below the minimum serial 8 \[bundle-rollback\]\n$/);

    const good = readFileSync(file);
    const model = entryOffset(good, 'components/policy-model.json');
    const bad = new Uint8Array(good);
    bad[model.data + 10] = bad[model.data + 10]! ^ 0x20;
    writeFileSync(join(dir, 'tampered.bundle'), bad);
    const t = palisade(['verify', join(dir, 'tampered.bundle'), '--trust', `${prefix}.pub`]);
    expect(t.status).toBe(BUNDLE_ERROR_EXIT['bundle-component-mismatch']);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);

    const other = join(dir, 'other');
    expect(palisade(['keygen', '--out', other]).status).toBe(0);
    const u = palisade(['verify', file, '--trust', `${other}.pub`]);
    expect(u.status).toBe(BUNDLE_ERROR_EXIT['bundle-unknown-key']);
    expect(`${u.stdout}${u.stderr}${t.stderr}`).not.toMatch(/\n\s+at /);
  });

  it('reproducibility: the same inputs build the same bytes from any working directory', () => {
    const repo = makePolicyRepo(dir);
    // No --created-at or --serial: both come from the commit, so the same commit builds the same bytes.
    const args = (out: string) => ['compile', '--policies', join(repo, 'policies'), '--flows', join(repo, 'flows/recorded.json'), '--out', out];
    const a = palisade(args(join(dir, 'cwd-repo.bundle')), {}, repo);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toContain('serial 1795165200,'); // 2026-11-20T09:00:00Z
    expect(palisade(args(join(dir, 'cwd-tmp.bundle')), {}, tmpdir()).status).toBe(0);
    expect(readFileSync(join(dir, 'cwd-repo.bundle')).equals(readFileSync(join(dir, 'cwd-tmp.bundle')))).toBe(true);
  });
});
