/**
 * The Action as a policy repository gets it from `uses: OWNER/palisade@v1`: a clean checkout of this repository's
 * HEAD (git archive) is released with release/tag-action.sh (the documented release step: `npm run build:action`,
 * then a commit adding action-dist/, tagged v1.2.3 and v1), and the tree of tag v1 alone, with no node_modules and
 * no dist/, is what runs. action.yml's `runs.main` is started on Node 24 the way a runner starts a node24 action:
 * working directory $GITHUB_WORKSPACE, INPUT_* from action.yml's inputs and defaults (`${{ github.token }}`
 * evaluated), GITHUB_EVENT_PATH holding a real payload from @octokit/webhooks-examples, GITHUB_STEP_SUMMARY, and
 * GITHUB_API_URL pointing at the GitHub stand-in.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse as parsePath } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENT } from '../../pipeline/core/bundle/components.js';
import { FsBundleStore, peekBundle } from '../../pipeline/stores/index.js';
import { splitBundle } from '../../pipeline/stores/bundle-entries.js';
import { GithubStandin } from './github-standin.js';
import { pullRequestPayload, pushPayload } from './webhook-payloads.js';
import { PolicyRepo, ROOT } from '../handlers/policy-repo.js';
import { runCli } from '../stores/helpers.js';

const TOKEN = 'ghs_releaseToken0123456789abcdefABCDEF';
const GIT_ID = { GIT_AUTHOR_NAME: 'r', GIT_AUTHOR_EMAIL: 'r@example.org', GIT_COMMITTER_NAME: 'r', GIT_COMMITTER_EMAIL: 'r@example.org' };

interface ActionMetadata {
  runs: { using: string; main: string };
  inputs: Record<string, { default?: string; required?: boolean }>;
}

let work: string;
let actionDir: string;
let action: ActionMetadata;
let tagOutput: string;
let repo: PolicyRepo;
let gh: GithubStandin;

/** `git archive REF` of `repoDir` unpacked into `dest`. */
function archive(repoDir: string, ref: string, dest: string): void {
  const tar = execFileSync('git', ['archive', '--format=tar', ref], { cwd: repoDir, maxBuffer: 512 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dest], { input: tar });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'palisade-action-release-'));
  // A clean checkout of HEAD: committed files only, as a fresh clone would have them.
  const source = join(work, 'source');
  execFileSync('mkdir', [source]);
  archive(ROOT, 'HEAD', source);
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: source, encoding: 'utf8', env: { ...process.env, ...GIT_ID } });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'HEAD of the repository under test');
  // `npm ci` on the release machine: the same locked packages this test runs with.
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const env = { ...process.env, ...GIT_ID, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  tagOutput = execFileSync('bash', ['release/tag-action.sh', 'v1.2.3'], { cwd: source, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(git('status', '--porcelain', '--', '.', ':!node_modules')).toBe(''); // the script left the work tree as it found it
  expect(git('rev-parse', 'v1^{commit}')).toBe(git('rev-parse', 'v1.2.3^{commit}'));
  expect(git('rev-parse', 'v1.2.3^{commit}^')).toBe(git('rev-parse', 'main')); // one commit on top of the source
  // What `uses: OWNER/palisade@v1` checks out: the tree of the tag, nothing else.
  actionDir = join(work, 'palisade-action');
  execFileSync('mkdir', [actionDir]);
  archive(source, 'v1', actionDir);
  action = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as ActionMetadata;

  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  gh = await new GithubStandin({ tokens: [TOKEN] }).start();
}, 240_000);

afterAll(async () => {
  await gh?.stop();
  repo?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The INPUT_* variables a runner sets for a step `uses:`-ing the action `with:` these values. */
function inputEnv(withValues: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of Object.keys(withValues)) expect(Object.keys(action.inputs), `input ${name}`).toContain(name);
  for (const [name, spec] of Object.entries(action.inputs)) {
    let value = withValues[name] ?? spec.default ?? '';
    // The only expression action.yml's defaults use; another one would need this test to learn it.
    value = value.replace(/\$\{\{\s*github\.token\s*\}\}/g, TOKEN);
    expect(value, `input ${name}`).not.toContain('${{');
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return env;
}

/** Runs `runs.main` of the released action as a runner runs a node24 action. */
function runReleased(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(actionDir, action.runs.main)], {
    cwd: repo.dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: repo.dir,
      GITHUB_API_URL: gh.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/policies',
      GITHUB_RUN_ID: '4242',
      RUNNER_TEMP: work,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the released Action', () => {
  it('is a node24 action whose entry has everything it needs in the tagged tree', () => {
    expect(tagOutput).toBe('push with: git push origin v1.2.3 && git push --force origin v1\n');
    expect(action.runs).toEqual({ using: 'node24', main: 'bin/palisade-action.mjs' });
    expect(existsSync(join(actionDir, 'action-dist', 'palisade-action.mjs'))).toBe(true);
    expect(existsSync(join(actionDir, 'action-dist', 'bpf', 'build', 'palisade.bpf.o'))).toBe(true);
    expect(readFileSync(join(actionDir, 'action-dist', 'THIRD-PARTY-NOTICES.md'), 'utf8')).toMatch(/^## @octokit\/rest \d/m);
    // Nothing to resolve packages from: no dist/, and no node_modules here or in any directory above.
    expect(existsSync(join(actionDir, 'dist'))).toBe(false);
    for (let dir = actionDir; dir !== parsePath(dir).root; dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
    expect(readdirSync(join(actionDir, 'action-dist')).sort()).toEqual(['THIRD-PARTY-NOTICES.md', 'bpf', 'palisade-action.mjs']);
  });

  it('checks a pull request: workflow-command annotations, job summary, check run and one comment; the step fails with the check', async () => {
    const event = join(work, 'pull_request.json');
    writeFileSync(event, JSON.stringify(pullRequestPayload('synchronize', 'acme', 'policies', 9, repo.rev('main'), repo.rev('break-cache'))));
    const summary = join(work, 'step-summary.md');
    writeFileSync(summary, '');
    const r = await runReleased({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event, GITHUB_STEP_SUMMARY: summary, ...inputEnv({ mode: 'check' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const line = repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(r.stdout).toContain(`::error file=policies/data/redis.yaml,line=${line},title=Palisade%3A newly blocked%3A `);
    expect(readFileSync(summary, 'utf8')).toMatch(/^## Palisade: Blocks \d+ recorded flows\n/);
    expect(gh.checkRuns).toEqual([
      expect.objectContaining({ head_sha: repo.rev('break-cache'), conclusion: 'failure', annotations: [expect.objectContaining({ path: 'policies/data/redis.yaml', start_line: line })] }),
    ]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('```mermaid');
    expect(gh.violations).toEqual([]);
  }, 60_000);

  it('publishes a push to main with the BPF object it carries, once', async () => {
    const k = await runCli(['keygen', '--out', join(work, 'signer')]);
    expect(k.code, k.stderr).toBe(0);
    const storeDir = join(work, 'store');
    const event = join(work, 'push.json');
    writeFileSync(event, JSON.stringify(pushPayload('acme', 'policies', 'main', '0'.repeat(40), repo.rev('main'))));
    const env = { GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: event, GITHUB_SHA: repo.rev('main'), ...inputEnv({ mode: 'publish', store: storeDir, key: readFileSync(join(work, 'signer.key'), 'utf8') }) };
    const first = await runReleased(env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(': published serial 1 ');
    const again = await runReleased(env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already-published');
    const store = new FsBundleStore(storeDir);
    const list = await store.list();
    expect(list).toHaveLength(1);
    const bytes = await store.get(list[0]!.digest);
    expect(peekBundle(bytes).source.commit).toBe(repo.rev('main'));
    // The bundle carries the datapath object the release carries, and verifies under the signer's key.
    const bpf = splitBundle(bytes).find((e) => e.name === `components/${COMPONENT.bpfObject.name}`);
    expect(Buffer.from(bpf!.bytes).equals(readFileSync(join(actionDir, 'action-dist', 'bpf', 'build', 'palisade.bpf.o')))).toBe(true);
    const file = join(work, 'published.bundle');
    writeFileSync(file, bytes);
    const verified = await runCli(['verify', file, '--trust', join(work, 'signer.pub')]);
    expect(verified.code, verified.stderr).toBe(0);
  }, 60_000);

  it('fails in one line on a checkout without a build', async () => {
    const bare = join(work, 'unbuilt');
    execFileSync('mkdir', [bare]);
    archive(ROOT, 'HEAD', bare);
    const child = spawn(process.execPath, [join(bare, 'bin', 'palisade-action.mjs')], { cwd: repo.dir, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stdout).toMatch(/^::error title=Palisade::this checkout of the Palisade Action has no build: use a release tag/);
  });
});
