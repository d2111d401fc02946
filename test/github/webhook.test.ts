/**
 * The webhook receiver: GitHub's published signature test vector; bad, missing and forged signatures, oversized
 * bodies, replayed deliveries and unknown events over real HTTP; payloads from @octokit/webhooks-examples mapped to
 * work; and `palisade serve --webhook-secret-file` end to end: a pull request delivery gets a check run and a
 * comment on the GitHub stand-in, a push to main is published once even when delivered twice.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookReceiver, signWebhookBody, verifyWebhookSignature, webhookWork, type WebhookReceiver, type WebhookWork } from '../../pipeline/github/index.js';
import { FsBundleStore, peekBundle } from '../../pipeline/stores/index.js';
import { example, pullRequestPayload, pushPayload } from './webhook-payloads.js';
import { GithubStandin } from './github-standin.js';
import { PolicyRepo } from '../handlers/policy-repo.js';
import { until } from '../support/until.js';
import { runCli, startServe } from '../stores/helpers.js';

const SECRET = 'webhook-test-secret-3b9f';

describe('signature', () => {
  it("verifies GitHub's published test vector", () => {
    const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(signWebhookBody("It's a Secret to Everybody", 'Hello, World!')).toBe(sig);
    expect(verifyWebhookSignature("It's a Secret to Everybody", Buffer.from('Hello, World!'), sig)).toBe(true);
    expect(verifyWebhookSignature("It's a Secret to Everybody", Buffer.from('Hello, World?'), sig)).toBe(false);
    expect(verifyWebhookSignature('another secret', Buffer.from('Hello, World!'), sig)).toBe(false);
    expect(verifyWebhookSignature("It's a Secret to Everybody", 'Hello, World!', sig.toUpperCase().replace('SHA256', 'sha256'))).toBe(true);
    for (const bad of [undefined, '', 'sha1=abc', sig.slice(0, -2), `${sig}00`, `sha256=${'z'.repeat(64)}`]) {
      expect(verifyWebhookSignature("It's a Secret to Everybody", 'Hello, World!', bad)).toBe(false);
    }
  });
});

describe('payloads', () => {
  it('maps real payloads to work', () => {
    const opened = example('pull_request', 'opened');
    expect(webhookWork('pull_request', opened)).toMatchObject({ kind: 'pull-request', owner: 'Codertocat', repo: 'Hello-World', number: 2, baseSha: opened.pull_request.base.sha, headSha: opened.pull_request.head.sha });
    expect(webhookWork('pull_request', example('pull_request', 'closed'))).toMatchObject({ kind: 'ignored' });
    expect(webhookWork('pull_request', example('pull_request', 'synchronize')).kind).toBe('pull-request');
    const push = example('push', undefined, (x) => x.ref === 'refs/heads/master');
    expect(webhookWork('push', { ...push, repository: { ...push.repository, default_branch: 'master' } })).toMatchObject({ kind: 'push', commit: push.after, branch: 'master' });
    expect(webhookWork('push', push, 'main')).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('only refs/heads/main') });
    expect(webhookWork('push', example('push', undefined, (x) => String(x.ref).startsWith('refs/tags/')), 'main').kind).toBe('ignored');
    const suite = example('check_suite', 'rerequested', (x) => x.check_suite.pull_requests.length > 0);
    expect(webhookWork('check_suite', suite)).toMatchObject({ kind: 'pull-request', headSha: suite.check_suite.head_sha });
    expect(webhookWork('check_run', example('check_run', 'rerequested'))).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('not for a pull request') });
    // A re-run of one check on a pull request: the run's head commit against the pull request's base.
    const run = example('check_run', 'rerequested');
    run.check_run.pull_requests = suite.check_suite.pull_requests;
    expect(webhookWork('check_run', run)).toMatchObject({ kind: 'pull-request', number: suite.check_suite.pull_requests[0].number, baseSha: suite.check_suite.pull_requests[0].base.sha, headSha: run.check_run.head_sha });
    expect(webhookWork('check_run', example('check_run', 'completed'))).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('only rerequested') });
    expect(webhookWork('ping', example('ping')).kind).toBe('ignored');
    expect(webhookWork('pull_request', { repository: 'nope' }).kind).toBe('ignored');
  });
});

describe('receiver over HTTP', () => {
  let server: Server;
  let url: string;
  let receiver: WebhookReceiver;
  const ran: Array<{ work: WebhookWork; delivery: string }> = [];
  let failNext = false;
  beforeAll(async () => {
    receiver = createWebhookReceiver({
      secret: SECRET,
      maxBodyBytes: 64 * 1024,
      run: async (work, delivery) => {
        ran.push({ work, delivery });
        if (failNext) {
          failNext = false;
          throw new Error('handler failed');
        }
      },
    });
    server = createServer(receiver.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await receiver.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const deliver = async (event: string, delivery: string, body: string, signature: string | null = signWebhookBody(SECRET, body)) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery };
    if (signature !== null) headers['x-hub-signature-256'] = signature;
    const res = await fetch(url, { method: 'POST', headers, body });
    return { status: res.status, message: ((await res.json()) as { message: string }).message };
  };
  const body = JSON.stringify(example('pull_request', 'opened'));

  it('refuses a missing or wrong signature and never runs the work', async () => {
    expect(await deliver('pull_request', 'd-1', body, null)).toMatchObject({ status: 401, message: 'missing X-Hub-Signature-256' });
    expect(await deliver('pull_request', 'd-1', body, signWebhookBody('not the secret', body))).toMatchObject({ status: 401, message: 'signature does not match' });
    // Signed, then altered in transit.
    expect((await deliver('pull_request', 'd-1', body.replace('"opened"', '"reopened"'), signWebhookBody(SECRET, body))).status).toBe(401);
    await receiver.idle();
    expect(ran).toEqual([]);
  });

  it('refuses an oversized body, declared or streamed without a length', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(100 * 1024) });
    expect((await deliver('pull_request', 'd-big', big)).status).toBe(413);
    // Chunked: no Content-Length to go by, so the receiver counts what arrives and stops reading at the bound.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'x-github-event': 'pull_request', 'x-github-delivery': 'd-big-2', 'x-hub-signature-256': signWebhookBody(SECRET, big) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 16 * 1024) req.write(big.slice(i, i + 16 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
    await receiver.idle();
    expect(ran.map((r) => r.delivery)).not.toContain('d-big-2');
  });

  it('runs a delivery once: a replay gets 2xx and is not run again', async () => {
    expect(await deliver('pull_request', 'd-2', body)).toMatchObject({ status: 202, message: 'accepted: pull-request' });
    await receiver.idle();
    expect(await deliver('pull_request', 'd-2', body)).toMatchObject({ status: 200, message: 'delivery d-2 already handled' });
    await receiver.idle();
    expect(ran.map((r) => r.delivery)).toEqual(['d-2']);
  });

  it('runs a redelivery again when the first run failed', async () => {
    failNext = true;
    expect((await deliver('pull_request', 'd-3', body)).status).toBe(202);
    await receiver.idle();
    expect((await deliver('pull_request', 'd-3', body)).status).toBe(202);
    await receiver.idle();
    expect(ran.filter((r) => r.delivery === 'd-3')).toHaveLength(2);
    expect(receiver.stats).toMatchObject({ failed: 1 });
  });

  it('answers unknown events and ignored actions with 202 and runs nothing', async () => {
    const before = ran.length;
    expect(await deliver('star', 'd-4', '{"action":"created"}')).toMatchObject({ status: 202, message: 'event star is ignored' });
    expect(await deliver('pull_request', 'd-5', JSON.stringify(example('pull_request', 'closed')))).toMatchObject({ status: 202, message: expect.stringMatching(/^ignored: pull_request closed/) });
    expect((await deliver('pull_request', 'd-6', '{not json')).status).toBe(400);
    expect((await fetch(url)).status).toBe(405);
    await receiver.idle();
    expect(ran.length).toBe(before);
  });
});

describe('answering at once from a bounded queue', () => {
  it('answers while a handler runs, queues up to the bound, answers 503 beyond it and forgets that delivery', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const receiver = createWebhookReceiver({
      secret: SECRET,
      maxQueued: 2,
      run: async (_work, delivery) => {
        ran.push(delivery);
        await gate; // a handler that takes as long as it takes
      },
    });
    const server = createServer(receiver.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const body = JSON.stringify(example('pull_request', 'opened'));
    const deliver = async (delivery: string) => {
      const res = await fetch(url, { method: 'POST', headers: { 'x-github-event': 'pull_request', 'x-github-delivery': delivery, 'x-hub-signature-256': signWebhookBody(SECRET, body) }, body });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), message: ((await res.json()) as { message: string }).message };
    };
    try {
      // Every answer below arrives while the first handler is still blocked: answering never waits for the work.
      expect(await deliver('q-1')).toMatchObject({ status: 202 });
      expect(ran).toEqual(['q-1']);
      expect(await deliver('q-2')).toMatchObject({ status: 202 });
      expect(await deliver('q-3')).toMatchObject({ status: 202 });
      expect(await deliver('q-4')).toEqual({ status: 503, retryAfter: '60', message: 'busy: try the delivery again later' });
      expect(await deliver('q-2')).toMatchObject({ status: 200, message: 'delivery q-2 already taken' });
      expect(ran).toEqual(['q-1']);
      release();
      await receiver.idle();
      expect(ran).toEqual(['q-1', 'q-2', 'q-3']);
      // The refused delivery was not remembered: GitHub's redelivery of it runs.
      expect(await deliver('q-4')).toMatchObject({ status: 202 });
      await receiver.idle();
      expect(ran).toEqual(['q-1', 'q-2', 'q-3', 'q-4']);
      expect(receiver.stats).toMatchObject({ accepted: 4, duplicates: 1, rejected: 1, completed: 4 });
      // Stopping with work queued: the job in progress ends, the queued ones are named for redelivery.
      let next!: () => void;
      const slow = new Promise<void>((r) => (next = r));
      const logged: string[] = [];
      const stopping = createWebhookReceiver({ secret: SECRET, run: () => slow, log: (l) => logged.push(l) });
      const s2 = createServer(stopping.handle);
      await new Promise<void>((r) => s2.listen(0, '127.0.0.1', r));
      const url2 = `http://127.0.0.1:${(s2.address() as AddressInfo).port}/`;
      for (const d of ['s-1', 's-2']) {
        const res = await fetch(url2, { method: 'POST', headers: { 'x-github-event': 'pull_request', 'x-github-delivery': d, 'x-hub-signature-256': signWebhookBody(SECRET, body) }, body });
        expect(res.status).toBe(202);
      }
      const closing = stopping.close();
      next();
      await closing;
      await new Promise<void>((r) => s2.close(() => r()));
      expect(logged).toEqual(["delivery s-2 (pull-request) not run: stopping; redeliver it from the webhook's recent deliveries"]);
      expect(stopping.stats).toMatchObject({ accepted: 2, completed: 1 });
    } finally {
      release();
      await receiver.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('palisade serve --webhook-secret-file', () => {
  let repo: PolicyRepo;
  let gh: GithubStandin;
  let work: string;
  const TOKEN = 'ghs_serveWebhookToken0123456789abcdef';
  beforeAll(async () => {
    repo = new PolicyRepo();
    repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
    gh = await new GithubStandin({ tokens: [TOKEN] }).start();
    work = mkdtempSync(join(tmpdir(), 'palisade-webhook-'));
    writeFileSync(join(work, 'secret'), `${SECRET}\n`);
    const k = await runCli(['keygen', '--out', join(work, 'signer')]);
    expect(k.code, k.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await gh?.stop();
    repo?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('checks a pull request and publishes a push once, however often it is delivered', async () => {
    const storeDir = join(work, 'store');
    const serve = await startServe(storeDir, ['--webhook-secret-file', join(work, 'secret'), '--repo', repo.dir, '--github-repo', 'acme/policies', '--key', join(work, 'signer.key')], { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url });
    try {
      const post = async (event: string, delivery: string, payload: unknown) => {
        const body = JSON.stringify(payload);
        const res = await fetch(`${serve.url}/github/webhook`, { method: 'POST', headers: { 'x-github-event': event, 'x-github-delivery': delivery, 'x-hub-signature-256': signWebhookBody(SECRET, body) }, body });
        return res.status;
      };
      // The store keeps working beside the receiver.
      expect((await fetch(`${serve.url}/v1/bundles/latest`)).status).toBe(404);
      expect(await post('pull_request', 'pr-1', pullRequestPayload('opened', 'acme', 'policies', 12, repo.rev('main'), repo.rev('break-cache')))).toBe(202);
      await until(() => gh.comments.length === 1, serve.stderr);
      expect(gh.checkRuns).toEqual([expect.objectContaining({ head_sha: repo.rev('break-cache'), conclusion: 'failure' })]);
      expect(gh.checkRuns[0]!.annotations[0]).toMatchObject({ path: 'policies/data/redis.yaml', start_line: repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:') });
      expect(gh.comments[0]!.body).toContain('Blocks');
      // A delivery for another repository (an App installed on several) is not checked against this clone.
      expect(await post('pull_request', 'pr-other', pullRequestPayload('opened', 'acme', 'other', 3, repo.rev('main'), repo.rev('break-cache')))).toBe(202);
      await until(() => serve.stderr().includes('delivery pr-other'), serve.stderr);
      expect(serve.stderr()).toContain('delivery pr-other: for acme/other, not acme/policies; skipped');
      expect(gh.checkRuns).toHaveLength(1);

      const main = repo.rev('main');
      const push = pushPayload('acme', 'policies', 'main', '0'.repeat(40), main);
      expect(await post('push', 'push-1', push)).toBe(202);
      expect(await post('push', 'push-1', push)).toBe(200); // the same delivery again
      expect(await post('push', 'push-2', push)).toBe(202); // the same commit in a new delivery
      const store = new FsBundleStore(storeDir);
      await until(async () => serve.stderr().includes('delivery push-2'), serve.stderr);
      const list = await store.list();
      expect(list.map((d) => d.serial)).toEqual([1]);
      expect(peekBundle(await store.get(list[0]!.digest)).source.commit).toBe(main);
      expect(serve.stderr()).toContain('delivery push-2: push ' + main.slice(0, 12) + ': already-published');
      expect(gh.violations).toEqual([]);
    } finally {
      await serve.stop();
    }
  }, 120_000);
});
