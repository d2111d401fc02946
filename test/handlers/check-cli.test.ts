/**
 * `palisade check` (the built CLI): the pull-request check run locally through the same onPullRequest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRepo } from './policy-repo.js';
import { runCli } from '../stores/helpers.js';

let repo: PolicyRepo;
beforeAll(() => {
  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  repo.onBranch('cosmetic', 'main', () => repo.replace('policies/data/redis.yaml', 'cache: only the shop API may use redis', 'cache: API only'));
}, 60_000);
afterAll(() => repo?.destroy());

describe('palisade check', () => {
  it('fails a breaking change with the annotation, passes a harmless one, honours labels', async () => {
    const broken = await runCli(['check', '--repo', repo.dir, '--base', 'main', '--head', 'break-cache']);
    expect(broken.code, broken.stderr).toBe(1);
    const line = repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(broken.stdout).toMatch(new RegExp(`^failure: Blocks \\d+ recorded flows\\npolicies/data/redis.yaml:${line}: failure: Palisade: newly blocked`));
    const labelled = await runCli(['check', '--repo', repo.dir, '--base', 'main', '--head', 'break-cache', '--label', 'palisade/accept-breakage', '--format', 'json']);
    expect(labelled.code).toBe(0);
    expect(JSON.parse(labelled.stdout)).toMatchObject({ conclusion: 'neutral', headCommit: repo.rev('break-cache') });
    const ok = await runCli(['check', '--repo', repo.dir, '--base', 'main', '--head', 'cosmetic']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^success: No change to \d+ recorded flows\n$/);
  }, 60_000);

  it('exits 2 with one line for a ref that does not exist', async () => {
    const r = await runCli(['check', '--repo', repo.dir, '--base', 'main', '--head', 'no-such-branch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*unknown ref 'no-such-branch' \(no such commit\) \[io-git-unknown-ref\]\n$/);
  }, 30_000);
});
