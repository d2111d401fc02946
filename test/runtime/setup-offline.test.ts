/**
 * setup.sh without the npm registry: when it must fetch Node.js 24 (the system Node is older) and cannot, it says
 * what is missing and how to provide it, exits 1, and leaves no runtime (and no staging directory) that a second
 * run or bin/palisade would trust. Runs the real script on a copy of the files it reads, with an empty npm cache.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'pld-setup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const system = spawnSync('node', ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8', env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' } });
const systemMajor = system.status === 0 ? Number(system.stdout.trim()) : 0;

describe('setup.sh offline', () => {
  it.runIf(systemMajor < 24 && process.getuid?.() === 0)(`system Node v${systemMajor}, no registry: one clear message, exit 1, no half-installed runtime`, () => {
    const repo = join(work, 'repo');
    mkdirSync(join(repo, 'runtime'), { recursive: true });
    for (const f of ['setup.sh', 'package.json', 'package-lock.json', 'runtime/package.json', 'runtime/package-lock.json']) cpSync(join(ROOT, f), join(repo, f));
    const r = spawnSync('bash', ['setup.sh'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: work,
        npm_config_registry: 'http://127.0.0.1:9/',
        npm_config_cache: join(work, 'empty-cache'),
        npm_config_fetch_retries: '0',
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^setup: could not fetch Node\.js 24 from the npm registry .*Give this machine access to the npm registry, or put Node\.js >= 24 first on PATH, and run \.\/setup\.sh again$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(repo, 'runtime', 'node_modules'))).toBe(false);
    expect(readdirSync(join(repo, 'runtime')).sort()).toEqual(['package-lock.json', 'package.json']);
    expect(existsSync(join(repo, 'node_modules'))).toBe(false);
  });
});
