/**
 * The demo's GitHub stand-in keeps what the real check reporter sends, as GitHub shows it: the same check run,
 * annotations and comment that the openapi-checked stand-in of the GitHub tests receives from the same report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GithubStandIn } from '../../pipeline/demo/github-stand-in.js';
import { createGithubClient, reportPullRequest } from '../../pipeline/github/index.js';
import { onPullRequest, type PullRequestResult } from '../../pipeline/handlers/index.js';
import { GithubStandin } from '../github/github-standin.js';
import { PolicyRepo } from '../handlers/policy-repo.js';

const TOKEN = 'ghs_demoStandInToken0123456789abcdef';
const target = { owner: 'demo', repo: 'shop-policies', pullNumber: 1, botLogin: 'palisade-demo[bot]' };
let repo: PolicyRepo;
let outcome: PullRequestResult;
const demo = new GithubStandIn('demo/shop-policies', target.botLogin);
let checked: GithubStandin;
let url: string;

beforeAll(async () => {
  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  outcome = await onPullRequest({ repo: repo.dir, base: 'main', head: 'break-cache' });
  checked = await new GithubStandin({ tokens: [TOKEN], botLogin: target.botLogin }).start();
  url = await demo.start();
}, 60_000);
afterAll(async () => {
  repo?.destroy();
  await demo.close();
  await checked?.stop();
});

describe('the demo GitHub stand-in', () => {
  it('receives the check run, its annotations and the comment exactly as the shape-checked stand-in does; a re-run edits nothing', async () => {
    const r1 = await reportPullRequest(createGithubClient({ token: TOKEN, baseUrl: url }), target, outcome);
    await reportPullRequest(createGithubClient({ token: TOKEN, baseUrl: checked.url }), target, outcome);
    expect(checked.violations).toEqual([]);
    expect(r1).toMatchObject({ check: { kind: 'created' }, comment: { kind: 'created' } });
    const run = demo.checkRunFor(repo.rev('break-cache'))!;
    const ref = checked.checkRuns[0]!;
    expect(run).toMatchObject({ name: ref.name, status: 'completed', conclusion: 'failure', title: ref.output.title, summary: ref.output.summary });
    expect(run.annotations).toEqual(ref.annotations);
    expect(run.annotations.length).toBeGreaterThan(0);
    expect(demo.comments.map((c) => c.body)).toEqual(checked.comments.map((c) => c.body));

    // The same report again (a redelivery): the check run is found by its head commit and the comment by its
    // marker; neither is written again.
    const writes = demo.checkRuns[0]!.writes;
    const r2 = await reportPullRequest(createGithubClient({ token: TOKEN, baseUrl: url }), target, outcome);
    expect(r2.check.kind).toBe('unchanged');
    expect(r2.comment.kind).toBe('unchanged');
    expect(demo.checkRuns[0]!.writes).toBe(writes);
    expect(demo.checkRuns).toHaveLength(1);
    expect(demo.comments).toHaveLength(1);
    expect(demo.comments[0]!.writes).toBe(1);
    expect(demo.unexpected).toEqual([]);
  });

  it('anything else is answered 404 and counted', async () => {
    const res = await fetch(`${url}/repos/demo/shop-policies/pulls/1/files`);
    expect(res.status).toBe(404);
    expect(demo.unexpected).toEqual(['GET /repos/demo/shop-policies/pulls/1/files']);
  });
});
