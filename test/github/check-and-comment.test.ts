/**
 * The check run and the pull-request comment against the GitHub stand-in (every request checked against
 * @octokit/openapi-types and GitHub's limits): a PR that breaks a recorded connection gets a failing check with the
 * annotation on the right line and one comment; a second push gets its own check and updates the same comment; a
 * re-run changes nothing; more than 50 annotations go in batches; oversized summaries are cut on a character
 * boundary; rate limits and 5xx are retried as GitHub asks; 403 names the missing permission without the token;
 * a GitHub App's JWT is exchanged for an installation token.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onPullRequest, type PullRequestResult } from '../../pipeline/handlers/index.js';
import {
  COMMENT_MARKER,
  GithubError,
  JOB_SUMMARY_LIMIT,
  appendJobSummary,
  githubClientsFromEnv,
  MAX_WORKFLOW_ANNOTATIONS,
  resultWorkflowCommands,
  appBotLogin,
  createGithubClient,
  installationTokenSource,
  publishCheckRun,
  reportPullRequest,
  truncateUtf8,
  upsertPullRequestComment,
} from '../../pipeline/github/index.js';
import { GithubStandin } from './github-standin.js';
import { PolicyRepo } from '../handlers/policy-repo.js';

const TOKEN = 'ghs_standinToken0123456789abcdefABCDEF';
let gh: GithubStandin;
let repo: PolicyRepo;
const sleeps: number[] = [];
const client = () => createGithubClient({ token: TOKEN, baseUrl: gh.url, sleep: async (ms) => void sleeps.push(ms) });

beforeAll(async () => {
  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
}, 60_000);
afterAll(() => repo?.destroy());

describe('check run and comment', () => {
  beforeAll(async () => {
    gh = await new GithubStandin({ tokens: [TOKEN] }).start();
  });
  afterAll(async () => gh.stop());
  afterEach(() => {
    expect(gh.violations).toEqual([]);
  });

  it('a breaking PR gets a failing check annotated on the rule, and one comment; a second push updates both; a re-run changes nothing', async () => {
    const target = { owner: 'acme', repo: 'policies', pullNumber: 7, botLogin: 'github-actions[bot]' };
    const first = await onPullRequest({ repo: repo.dir, base: 'main', head: 'break-cache' });
    const r1 = await reportPullRequest(client(), target, first);
    expect(r1.check.kind).toBe('created');
    expect(r1.comment.kind).toBe('created');
    expect(gh.checkRuns).toHaveLength(1);
    const run = gh.checkRuns[0]!;
    expect(run).toMatchObject({ head_sha: repo.rev('break-cache'), name: 'Palisade', status: 'completed', conclusion: 'failure' });
    expect(run.output.title).toMatch(/^Blocks \d+ recorded flows$/);
    const line = repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(run.annotations).toEqual([expect.objectContaining({ path: 'policies/data/redis.yaml', start_line: line, end_line: line, annotation_level: 'failure' })]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body.startsWith(`${COMMENT_MARKER}\n### Palisade: Blocks`)).toBe(true);
    expect(gh.comments[0]!.body).toContain('```mermaid');

    // The same event again (a redelivery, a restart): nothing is written.
    const before = gh.requests.length;
    const again = await reportPullRequest(client(), target, first);
    expect(again.check.kind).toBe('unchanged');
    expect(again.comment.kind).toBe('unchanged');
    expect(gh.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);

    // A second push to the branch: a check on the new head, the same comment updated.
    const second = repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'cache: only the shop API may use redis', 'cache: shop API only'));
    const next = await onPullRequest({ repo: repo.dir, base: 'main', head: 'break-cache' });
    const r2 = await reportPullRequest(client(), target, next);
    expect(r2.check.kind).toBe('created');
    expect(r2.comment).toMatchObject({ kind: 'updated', commentId: r1.comment.commentId });
    expect(gh.checkRuns.map((c) => c.head_sha)).toEqual([first.headCommit, second]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain(second.slice(0, 12));
  }, 60_000);

  it('never takes over a comment someone else wrote with the marker', async () => {
    gh.addForeignComment(8, `${COMMENT_MARKER}\nfake`, 'mallory');
    const out = await upsertPullRequestComment(client(), { owner: 'acme', repo: 'policies', pullNumber: 8, botLogin: 'github-actions[bot]' }, 'real');
    expect(out.kind).toBe('created');
    expect(gh.comments.filter((c) => c.issue === 8).map((c) => c.body)).toEqual([`${COMMENT_MARKER}\nfake`, `${COMMENT_MARKER}\nreal`]);
  });

  it('sends more than 50 annotations in batches of 50 and sets the conclusion with the last', async () => {
    const annotations = Array.from({ length: 120 }, (_, i) => ({ path: `policies/p${i}.yaml`, line: i + 1, level: 'warning' as const, title: 't', message: `m${i}` }));
    const result: Pick<PullRequestResult, 'conclusion' | 'title' | 'summary' | 'annotations'> = { conclusion: 'neutral', title: 'many', summary: 'many annotations', annotations };
    const before = gh.requests.length;
    const out = await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: 'c'.repeat(40) }, result);
    expect(out).toMatchObject({ kind: 'created', annotationsSent: 120, requests: 4 });
    expect(gh.requests.slice(before).map((r) => r.operation)).toEqual(['checks/list-for-ref', 'checks/create', 'checks/update', 'checks/update']);
    const run = gh.checkRuns.at(-1)!;
    expect(run.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
    expect(run).toMatchObject({ status: 'completed', conclusion: 'neutral', updates: 2 });
    // Past the total bound (1,000) the rest are counted in the summary instead of sent.
    const flood = Array.from({ length: 1_030 }, (_, i) => ({ path: 'policies/big.yaml', line: i + 1, level: 'failure' as const, title: 't', message: `m${i}` }));
    const big = await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: '9'.repeat(40) }, { conclusion: 'failure', title: 'flood', summary: 'a flood', annotations: flood });
    expect(big).toMatchObject({ kind: 'created', annotationsSent: 1_000, requests: 21 });
    expect(gh.checkRuns.at(-1)!.annotations).toHaveLength(1_000);
    expect(gh.checkRuns.at(-1)!.output.summary).toBe('a flood\n\n30 more annotations not shown.\n');
  });

  it('cuts an oversized summary to 65,535 bytes of UTF-8 on a character boundary, saying how much is left out', async () => {
    const summary = Array.from({ length: 40_000 }, (_, i) => `| 🚫 connection ${i} | é |`).join('\n');
    await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: 'd'.repeat(40) }, { conclusion: 'failure', title: 'big', summary, annotations: [] });
    const sent = gh.checkRuns.at(-1)!.output.summary!;
    expect(Buffer.byteLength(sent, 'utf8')).toBeLessThanOrEqual(65_535);
    expect(sent).not.toContain('\uFFFD');
    expect(sent).toMatch(/… [\d]+ more lines not shown\.\n$/);
  });

  it('retries a rate limit after retry-after and 5xx with back-off', async () => {
    sleeps.length = 0;
    gh.failNext('checks/list-for-ref', 429, { 'retry-after': '3' });
    gh.failNext('checks/create', 502);
    gh.failNext('checks/create', 503);
    const out = await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: 'e'.repeat(40) }, { conclusion: 'success', title: 'ok', summary: 'ok', annotations: [] });
    expect(out.kind).toBe('created');
    expect(sleeps).toEqual([3000, 500, 1000]);
    // A secondary rate limit: 403 with GitHub's message and no header is waited out, not taken for a permission.
    sleeps.length = 0;
    gh.failNext('checks/list-for-ref', 403, {}, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' });
    const after = await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: 'e'.repeat(40) }, { conclusion: 'success', title: 'ok', summary: 'ok', annotations: [] });
    expect(after.kind).toBe('unchanged');
    expect(sleeps).toEqual([60_000]);
  });

  it('says which permission a 403 lacks, never printing the token', async () => {
    gh.failNext('checks/create', 403, {}, { message: `Resource not accessible by integration (${TOKEN})` });
    const err = await publishCheckRun(client(), { owner: 'acme', repo: 'policies', headSha: 'f'.repeat(40) }, { conclusion: 'success', title: 'ok', summary: 'ok', annotations: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GithubError);
    expect(err).toMatchObject({ code: 'github-permission', status: 403, permission: 'checks: write' });
    expect((err as Error).message).toContain('needs checks: write');
    expect((err as Error).message).not.toContain(TOKEN);
    // GitHub answers 404 for what the token may not see: the message still names the permission.
    gh.failNext('issues/list-comments', 404, {}, { message: 'Not Found' });
    const hidden = await upsertPullRequestComment(client(), { owner: 'acme', repo: 'policies', pullNumber: 3, botLogin: 'github-actions[bot]' }, 'x').catch((e: unknown) => e);
    expect(hidden).toMatchObject({ code: 'github-permission', status: 404, permission: 'pull-requests: read' });
    expect((hidden as Error).message).toBe('GET /repos/acme/policies/issues/3/comments: 404: Not Found; the token needs pull-requests: read');
    const bad = await createGithubClient({ token: 'wrong-token-xyz123', baseUrl: gh.url }).rest.issues.listComments({ owner: 'a', repo: 'b', issue_number: 1 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'github-unauthorized' });
    expect((bad as Error).message).not.toContain('wrong-token-xyz123');
  });
});

describe('the stand-in itself', () => {
  it('refuses what GitHub would refuse: unknown routes, undeclared fields, bad enums, 51 annotations', async () => {
    const s = await new GithubStandin({ tokens: [TOKEN] }).start();
    try {
      const post = (path: string, body: unknown) => fetch(`${s.url}${path}`, { method: 'POST', headers: { authorization: `bearer ${TOKEN}` }, body: JSON.stringify(body) });
      expect((await post('/repos/a/b/no-such-thing', {})).status).toBe(500);
      expect((await post('/repos/a/b/check-runs', { name: 'x', head_sha: 'a', colour: 'red' })).status).toBe(500);
      expect((await post('/repos/a/b/check-runs', { name: 'x', head_sha: 'a', status: 'done' })).status).toBe(500);
      const many = Array.from({ length: 51 }, () => ({ path: 'a', start_line: 1, end_line: 1, annotation_level: 'notice', message: 'm' }));
      expect((await post('/repos/a/b/check-runs', { name: 'x', head_sha: 'a', output: { title: 't', summary: 's', annotations: many } })).status).toBe(500);
      expect(s.violations).toEqual([
        'POST /repos/a/b/no-such-thing: no such route in @octokit/openapi-types',
        'POST /repos/a/b/check-runs: body.colour: not a field of this request',
        "POST /repos/a/b/check-runs: body.status: 'done' is not one of queued, in_progress, completed",
        'POST /repos/a/b/check-runs: 51 annotations in one request (GitHub allows 50)',
      ]);
    } finally {
      await s.stop();
    }
  });
});

describe('GitHub App authentication', () => {
  it('exchanges a JWT signed with the app key for an installation token, then uses it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const installationToken = 'ghs_installation0123456789abcdefXYZ';
    const app = await new GithubStandin({
      tokens: [],
      app: { id: '4242', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), installationId: 77, installationToken },
    }).start();
    try {
      const token = installationTokenSource({ credentials: { appId: '4242', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, owner: 'acme', repo: 'policies', baseUrl: app.url });
      const c = createGithubClient({ token, baseUrl: app.url });
      await c.rest.issues.createComment({ owner: 'acme', repo: 'policies', issue_number: 1, body: 'hi' });
      await c.rest.issues.createComment({ owner: 'acme', repo: 'policies', issue_number: 1, body: 'again' });
      // One installation and one token exchange, cached for the second call.
      expect(app.requests.map((r) => `${r.operation} ${r.status}`)).toEqual([
        'apps/get-repo-installation 200',
        'apps/create-installation-access-token 201',
        'issues/create-comment 201',
        'issues/create-comment 201',
      ]);
      expect(app.violations).toEqual([]);
      // The login its comments carry, which is how its comment is found again.
      expect(await appBotLogin({ credentials: { appId: '4242', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, baseUrl: app.url })).toBe('palisade-test[bot]');
      // A key of another app is refused.
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const wrong = installationTokenSource({ credentials: { appId: '4242', privateKeyPem: other, installationId: 77 }, owner: 'acme', repo: 'policies', baseUrl: app.url });
      await expect(wrong()).rejects.toMatchObject({ code: 'github-unauthorized' });
      await expect(installationTokenSource({ credentials: { appId: '4242', privateKeyPem: 'not a key' }, owner: 'a', repo: 'b', baseUrl: app.url })()).rejects.toMatchObject({ code: 'github-app-config' });
    } finally {
      await app.stop();
    }
  }, 30_000);
});

describe('GitHub credentials from the environment', () => {
  it('uses a GitHub App from PALISADE_GITHUB_APP_ID and its key file, and says what is wrong without showing the key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const installationToken = 'ghs_envInstallation0123456789abcdefXYZ';
    const app = await new GithubStandin({
      tokens: [],
      botLogin: 'palisade-test[bot]',
      app: { id: '5151', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), installationId: 88, installationToken },
    }).start();
    const dir = mkdtempSync(join(tmpdir(), 'palisade-app-key-'));
    try {
      const keyFile = join(dir, 'app.pem');
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
      const identity = githubClientsFromEnv({ PALISADE_GITHUB_APP_ID: '5151', PALISADE_GITHUB_APP_PRIVATE_KEY_FILE: keyFile, GITHUB_API_URL: app.url });
      const login = await identity.botLogin();
      expect(login).toBe('palisade-test[bot]');
      const target = { owner: 'acme', repo: 'policies', pullNumber: 4, botLogin: login };
      expect((await upsertPullRequestComment(identity.clients('acme', 'policies'), target, 'one')).kind).toBe('created');
      // Found again by the App's login: updated, not duplicated.
      expect((await upsertPullRequestComment(identity.clients('acme', 'policies'), target, 'two')).kind).toBe('updated');
      expect(app.comments.map((c) => c.body)).toEqual([`${COMMENT_MARKER}\ntwo`]);
      expect(app.count('apps/create-installation-access-token')).toBe(1);
      expect(app.violations).toEqual([]);

      expect(() => githubClientsFromEnv({})).toThrow(/^no GitHub credentials: set GITHUB_TOKEN, or PALISADE_GITHUB_APP_ID and PALISADE_GITHUB_APP_PRIVATE_KEY_FILE$/);
      expect(() => githubClientsFromEnv({ PALISADE_GITHUB_APP_ID: '5151', PALISADE_GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'missing.pem') })).toThrow(/the GitHub App private key cannot be read \(ENOENT\)/);
      writeFileSync(join(dir, 'bad.pem'), 'not a key');
      const bad = githubClientsFromEnv({ PALISADE_GITHUB_APP_ID: '5151', PALISADE_GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'bad.pem'), GITHUB_API_URL: app.url });
      await expect(bad.botLogin()).rejects.toMatchObject({ code: 'github-app-config', message: 'the GitHub App private key is not a readable PEM private key' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await app.stop();
    }
  }, 30_000);
});

describe('workflow-command annotations', () => {
  it('write the most severe first, at most 50, and count the rest', () => {
    const warnings = Array.from({ length: 60 }, (_, i) => ({ path: 'policies/a.yaml', line: i + 1, level: 'warning' as const, title: 'w', message: `w${i}` }));
    const failures = Array.from({ length: 10 }, (_, i) => ({ path: 'policies/z.yaml', line: i + 1, level: 'failure' as const, title: 'f', message: `f${i}` }));
    const lines = resultWorkflowCommands({ title: 'Blocks 10 recorded flows', conclusion: 'failure', annotations: [...warnings, ...failures] }).trimEnd().split('\n');
    expect(lines).toHaveLength(MAX_WORKFLOW_ANNOTATIONS + 2);
    expect(lines.slice(0, 10).every((l) => l.startsWith('::error file=policies/z.yaml,'))).toBe(true);
    expect(lines.slice(10, 50).every((l) => l.startsWith('::warning file=policies/a.yaml,'))).toBe(true);
    expect(lines.slice(-2)).toEqual([
      '::notice title=Palisade::20 more annotations not written here (GitHub shows 50 per job); the check run carries them',
      '::error title=Palisade::Blocks 10 recorded flows',
    ]);
  });
});

describe('the job summary', () => {
  it('stays within 1 MiB for the whole step, cut on a line and character boundary with a count of what is left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-summary-'));
    try {
      const file = join(dir, 'summary.md');
      // Another step's output already there, then a report far larger than the room left.
      writeFileSync(file, 'x'.repeat(JOB_SUMMARY_LIMIT - 200_000));
      const report = Array.from({ length: 50_000 }, (_, i) => `| 🚫 connection ${i} | é |`).join('\n');
      const written = await appendJobSummary(file, report);
      const text = readFileSync(file);
      expect(text.length).toBeLessThanOrEqual(JOB_SUMMARY_LIMIT);
      expect(written).toBe(text.length - (JOB_SUMMARY_LIMIT - 200_000));
      const appended = text.subarray(JOB_SUMMARY_LIMIT - 200_000).toString('utf8');
      expect(appended).not.toContain('\uFFFD');
      expect(appended).toMatch(/\| é \|\n\n… \d+ more lines not shown\.\n$/);
      // A full summary takes nothing more.
      expect(await appendJobSummary(file, 'more')).toBe(0);
      expect(readFileSync(file).length).toBe(text.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('truncateUtf8', () => {
  it('never splits a character and keeps text that fits', () => {
    expect(truncateUtf8('abc', 10)).toBe('abc');
    const s = '🚫'.repeat(100); // 4 bytes each, one line
    // '…' takes 3 of the 101 bytes; 98 hold 24 whole emoji, not 24.5.
    const out = truncateUtf8(s, 101, () => '…');
    expect(out).toBe(`${'🚫'.repeat(24)}…`);
  });
});
