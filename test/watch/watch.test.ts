/**
 * `palisade watch` end to end: the built CLI follows a real repository's main branch (a local path, and a git://
 * URL served by `git daemon` on 127.0.0.1), publishes every new commit in order, derives its position from the
 * store (a second run repeats nothing), stops cleanly on SIGTERM, and together with the webhook publishes a merge
 * exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBundleStore, peekBundle } from '../../pipeline/stores/index.js';
import { signWebhookBody } from '../../pipeline/github/index.js';
import { PolicyRepo } from '../handlers/policy-repo.js';
import { until } from '../support/until.js';
import { CLI, freePort, runCli, startServe } from '../stores/helpers.js';
import { pushPayload } from '../github/webhook-payloads.js';

let repo: PolicyRepo;
let work: string;
let key: string;

beforeAll(async () => {
  repo = new PolicyRepo();
  work = mkdtempSync(join(tmpdir(), 'palisade-watch-'));
  const k = await runCli(['keygen', '--out', join(work, 'signer')]);
  expect(k.code, k.stderr).toBe(0);
  key = join(work, 'signer.key');
}, 60_000);
afterAll(() => {
  repo?.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** Commits on main of `repo` in order, from the store's bundles. */
async function publishedCommits(storeDir: string): Promise<string[]> {
  const store = new FsBundleStore(storeDir);
  const out: string[] = [];
  for (const d of await store.list()) out.push(peekBundle(await store.get(d.digest)).source.commit);
  return out;
}

let edits = 0;
function commitOnMain(): string {
  edits++;
  return repo.onBranch('main', 'main', () => repo.write('policies/data/redis.yaml', `${repo.read('policies/data/redis.yaml')}# edit ${edits}\n`));
}

describe('palisade watch', () => {
  it('publishes each new commit in order, and a restart repeats nothing', async () => {
    const storeDir = join(work, 'store-order');
    const first = await runCli(['watch', '--repo', repo.dir, '--branch', 'main', '--store', storeDir, '--key', key, '--once']);
    expect(first.code, first.stderr).toBe(0);
    const c1 = repo.rev('main');
    expect(first.stdout).toMatch(new RegExp(`^${c1.slice(0, 12)}: published serial 1 `));
    const c2 = commitOnMain();
    const c3 = commitOnMain();
    const second = await runCli(['watch', '--repo', repo.dir, '--branch', 'main', '--store', storeDir, '--key', key, '--once']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split('\n').map((l) => l.slice(0, 12))).toEqual([c2.slice(0, 12), c3.slice(0, 12)]);
    expect(await publishedCommits(storeDir)).toEqual([c1, c2, c3]);
    const third = await runCli(['watch', '--repo', repo.dir, '--branch', 'main', '--store', storeDir, '--key', key, '--once']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toBe('');
    expect(await publishedCommits(storeDir)).toEqual([c1, c2, c3]);
  }, 120_000);

  it('follows a git:// URL through a mirror', async () => {
    const port = await freePort();
    const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${dirname(repo.dir)}`, '--listen=127.0.0.1', `--port=${port}`, dirname(repo.dir)], { stdio: 'ignore' });
    try {
      const url = `git://127.0.0.1:${port}/${basename(repo.dir)}`;
      const storeDir = join(work, 'store-url');
      let r = await runCli(['watch', '--repo', url, '--branch', 'main', '--store', storeDir, '--key', key, '--cache', join(work, 'cache'), '--once']);
      for (let i = 0; r.code !== 0 && r.stderr.includes('cannot clone') && i < 50; i++) {
        await new Promise((res) => setTimeout(res, 100)); // git daemon still starting
        r = await runCli(['watch', '--repo', url, '--branch', 'main', '--store', storeDir, '--key', key, '--cache', join(work, 'cache'), '--once']);
      }
      expect(r.code, r.stderr).toBe(0);
      expect(await publishedCommits(storeDir)).toEqual([repo.rev('main')]);
      const next = commitOnMain();
      const again = await runCli(['watch', '--repo', url, '--branch', 'main', '--store', storeDir, '--key', key, '--cache', join(work, 'cache'), '--once']);
      expect(again.code, again.stderr).toBe(0);
      expect((await publishedCommits(storeDir)).at(-1)).toBe(next);
    } finally {
      daemon.kill('SIGTERM');
    }
  }, 120_000);

  it('publishes a merge once when the webhook and watch both see it, and stops cleanly on SIGTERM', async () => {
    const storeDir = join(work, 'store-both');
    const seed = await runCli(['watch', '--repo', repo.dir, '--branch', 'main', '--store', storeDir, '--key', key, '--once']);
    expect(seed.code, seed.stderr).toBe(0);
    const secret = join(work, 'secret');
    writeFileSync(secret, 'both-secret\n');
    const serve = await startServe(storeDir, ['--webhook-secret-file', secret, '--repo', repo.dir, '--github-repo', 'acme/policies', '--key', key], { GITHUB_TOKEN: 'unused-token-for-push-only' });
    const watch = spawn(process.execPath, [CLI, 'watch', '--repo', repo.dir, '--branch', 'main', '--store', storeDir, '--key', key, '--interval', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watch.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    watch.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const before = repo.rev('main');
      const merge = commitOnMain();
      const body = JSON.stringify(pushPayload('acme', 'policies', 'main', before, merge));
      const res = await fetch(`${serve.url}/github/webhook`, { method: 'POST', headers: { 'x-github-event': 'push', 'x-github-delivery': 'merge-1', 'x-hub-signature-256': signWebhookBody('both-secret', body) }, body });
      expect(res.status).toBe(202);
      // Both have looked at the merge: the webhook's run ended, and watch reported it or found it published.
      await until(() => serve.stderr().includes('delivery merge-1'), () => serve.stderr());
      await until(async () => (await publishedCommits(storeDir)).includes(merge), () => err);
      // Watch says what it did with the new tip: published it, or found it already published.
      await until(() => out.includes(merge.slice(0, 12)) || err.includes(`${merge.slice(0, 12)} is the tip and already published`), () => err);
      expect((await publishedCommits(storeDir)).filter((c) => c === merge)).toHaveLength(1);
      expect(await publishedCommits(storeDir)).toEqual([before, merge]);
    } finally {
      const code = await stop(watch);
      await serve.stop();
      expect(code).toBe(0);
      expect(err).toContain('SIGTERM, stopping after the current commit');
    }
  }, 120_000);
});

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}
