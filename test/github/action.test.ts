/**
 * The GitHub Action's entry (bin/palisade-action.mjs over the development build in dist/) run the way a runner runs
 * it, with GitHub's environment (GITHUB_EVENT_PATH holding a real payload, GITHUB_STEP_SUMMARY, GITHUB_API_URL
 * pointing at the GitHub stand-in, INPUT_*). The released bundle runs in action-release.test.ts; action.yml and the
 * template's workflows are checked in action-metadata.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBundleStore, peekBundle } from '../../pipeline/stores/index.js';
import { GithubStandin } from './github-standin.js';
import { pullRequestPayload, pushPayload } from './webhook-payloads.js';
import { PolicyRepo, ROOT } from '../handlers/policy-repo.js';
import { runCli } from '../stores/helpers.js';

const TOKEN = 'ghs_actionToken0123456789abcdefABCDEF';
let repo: PolicyRepo;
let gh: GithubStandin;
let work: string;

beforeAll(async () => {
  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  gh = await new GithubStandin({ tokens: [TOKEN] }).start();
  work = mkdtempSync(join(tmpdir(), 'palisade-action-'));
}, 60_000);
afterAll(async () => {
  await gh?.stop();
  repo?.destroy();
  rmSync(work, { recursive: true, force: true });
});

/** Runs the entry as a runner would (asynchronously: the GitHub stand-in answers from this process). */
function runAction(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'palisade-action.mjs')], {
    cwd: repo.dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: repo.dir, GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'acme/policies', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the Action', () => {
  it('checks a pull request: annotations, job summary, check run and comment; the step fails with the check', async () => {
    const event = join(work, 'pr-event.json');
    writeFileSync(event, JSON.stringify(pullRequestPayload('synchronize', 'acme', 'policies', 5, repo.rev('main'), repo.rev('break-cache'))));
    const summary = join(work, 'summary.md');
    writeFileSync(summary, '');
    const r = await runAction({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event, GITHUB_STEP_SUMMARY: summary, INPUT_MODE: 'check', INPUT_TOKEN: TOKEN, 'INPUT_BOT-LOGIN': 'github-actions[bot]' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const line = repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(r.stdout).toContain(`::error file=policies/data/redis.yaml,line=${line},title=Palisade%3A newly blocked%3A `);
    expect(readFileSync(summary, 'utf8')).toMatch(/^## Palisade: Blocks \d+ recorded flows\n/);
    expect(gh.checkRuns).toEqual([expect.objectContaining({ head_sha: repo.rev('break-cache'), conclusion: 'failure' })]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.violations).toEqual([]);
  }, 60_000);

  it('reports a pull request from a fork, whose token is read-only, through annotations and the job summary', async () => {
    // A head commit no check has been published for yet, so the check run is created (and refused).
    const head = repo.onBranch('from-fork', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6381"'));
    const payload = pullRequestPayload('opened', 'acme', 'policies', 6, repo.rev('main'), head);
    payload.pull_request.base.repo.full_name = 'acme/policies';
    payload.pull_request.head.repo.full_name = 'mallory/policies';
    const event = join(work, 'fork-event.json');
    writeFileSync(event, JSON.stringify(payload));
    const summary = join(work, 'fork-summary.md');
    writeFileSync(summary, '');
    const denied = { message: 'Resource not accessible by integration' };
    gh.failNext('checks/create', 403, {}, denied);
    const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event, GITHUB_STEP_SUMMARY: summary, INPUT_MODE: 'check', INPUT_TOKEN: TOKEN };
    const r = await runAction(env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1); // the check's own verdict
    expect(r.stdout).toContain('::warning title=Palisade::the check run and the comment were not posted: this pull request comes from a fork, whose token is read-only (POST /repos/acme/policies/check-runs: 403: Resource not accessible by integration; the token needs checks: write)');
    expect(r.stdout).toMatch(/::error file=policies\/data\/redis\.yaml,line=\d+,/);
    expect(readFileSync(summary, 'utf8')).toMatch(/^## Palisade: Blocks/);
    // The same refusal on a pull request from the repository itself is a misconfiguration: the step says so.
    payload.pull_request.head.repo.full_name = 'acme/policies';
    writeFileSync(event, JSON.stringify(payload));
    gh.failNext('checks/create', 403, {}, denied);
    const own = await runAction(env);
    expect(own.code).toBe(1);
    expect(own.stderr).toBe('palisade: POST /repos/acme/policies/check-runs: 403: Resource not accessible by integration; the token needs checks: write [github-permission]\n');
    expect(own.stdout).not.toContain('::warning title=Palisade::');
    expect(gh.violations).toEqual([]);
  }, 60_000);

  it('publishes a push to main once', async () => {
    const k = await runCli(['keygen', '--out', join(work, 'signer')]);
    expect(k.code, k.stderr).toBe(0);
    const storeDir = join(work, 'store');
    const event = join(work, 'push-event.json');
    writeFileSync(event, JSON.stringify(pushPayload('acme', 'policies', 'main', '0'.repeat(40), repo.rev('main'))));
    const env = { GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: event, GITHUB_SHA: repo.rev('main'), INPUT_MODE: 'publish', INPUT_STORE: storeDir, INPUT_KEY: readFileSync(join(work, 'signer.key'), 'utf8') };
    const first = await runAction(env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain(': published serial 1 ');
    const again = await runAction(env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already-published');
    // A push to another branch publishes nothing.
    const other = join(work, 'push-other.json');
    const otherPayload = pushPayload('acme', 'policies', 'main', '0'.repeat(40), repo.rev('main'));
    otherPayload.ref = 'refs/heads/feature';
    writeFileSync(other, JSON.stringify(otherPayload));
    const feature = await runAction({ ...env, GITHUB_EVENT_PATH: other });
    expect(feature.code).toBe(0);
    expect(feature.stdout).toContain('nothing to publish for push: push to refs/heads/feature: only refs/heads/main is published');
    const list = await new FsBundleStore(storeDir).list();
    expect(list).toHaveLength(1);
    expect(peekBundle(await new FsBundleStore(storeDir).get(list[0]!.digest)).source.commit).toBe(repo.rev('main'));
  }, 60_000);

  it('fails with one line when GitHub’s environment is missing', async () => {
    const r = await runAction({ INPUT_MODE: 'check' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('palisade: $GITHUB_EVENT_NAME is not set: run this as a GitHub Action step [github-action-env]\n');
    const notJson = join(work, 'not-json.json');
    writeFileSync(notJson, '{"truncated":');
    const bad = await runAction({ INPUT_MODE: 'check', GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: notJson });
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: 'palisade: $GITHUB_EVENT_PATH: the event payload is not JSON [github-action-env]\n' });
  });
});
