/**
 * Delivers GitHub webhooks to `palisade serve` as GitHub would: the event's JSON payload signed with the shared
 * secret (`X-Hub-Signature-256`), a fresh delivery id, the event name. Payloads carry the fields GitHub sends that
 * the receiver reads.
 */
import { randomUUID } from 'node:crypto';
import { signWebhookBody } from '../github/webhook-signature.js';
import { DemoError } from './errors.js';

export interface Repository {
  readonly owner: string;
  readonly name: string;
}

function repositoryJson(repo: Repository): Record<string, unknown> {
  return { name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: { login: repo.owner, type: 'Organization' }, default_branch: 'main', private: true };
}

/** A `pull_request` event (`opened`). */
export function pullRequestEvent(repo: Repository, pr: { number: number; title: string; branch: string; base: string; head: string }): { event: string; payload: unknown } {
  return {
    event: 'pull_request',
    payload: {
      action: 'opened',
      number: pr.number,
      pull_request: {
        number: pr.number,
        title: pr.title,
        state: 'open',
        labels: [],
        base: { ref: 'main', sha: pr.base, repo: repositoryJson(repo) },
        head: { ref: pr.branch, sha: pr.head, repo: repositoryJson(repo) },
      },
      repository: repositoryJson(repo),
      sender: { login: 'demo-author', type: 'User' },
    },
  };
}

/** A `push` event to main. */
export function pushEvent(repo: Repository, before: string, after: string): { event: string; payload: unknown } {
  return { event: 'push', payload: { ref: 'refs/heads/main', before, after, created: false, deleted: false, forced: false, repository: repositoryJson(repo), sender: { login: 'demo-author', type: 'User' } } };
}

/**
 * POSTs one delivery.
 * @throws DemoError `demo-process-failed` when the receiver does not accept it
 */
export async function deliverWebhook(url: string, secret: string, e: { event: string; payload: unknown }): Promise<void> {
  const body = JSON.stringify(e.payload);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': e.event, 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signWebhookBody(secret, body), 'user-agent': 'GitHub-Hookshot/palisade-demo' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (res.status < 200 || res.status > 299) throw new DemoError('demo-process-failed', `the webhook receiver answered ${res.status} to a ${e.event} delivery`);
}
