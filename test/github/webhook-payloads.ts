/**
 * Real webhook payloads from @octokit/webhooks-examples, re-pointed at a test repository (owner, name, commits)
 * where a test needs that.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const INDEX = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

/** The first example of `event` (with `action` when given) for which `pick` holds, deep-copied. */
export function example(event: string, action?: string, pick: (p: Record<string, any>) => boolean = () => true): Record<string, any> {
  const found = INDEX.find((e) => e.name === event)?.examples.find((x) => (action === undefined || x.action === action) && pick(x));
  if (!found) throw new Error(`no ${event} ${action ?? ''} example in @octokit/webhooks-examples`);
  return structuredClone(found) as Record<string, any>;
}

/** A pull_request payload for `owner/repo` #number from base to head. */
export function pullRequestPayload(action: string, owner: string, repo: string, number: number, baseSha: string, headSha: string, labels: string[] = []): Record<string, any> {
  const p = example('pull_request', action);
  p.repository.owner.login = owner;
  p.repository.name = repo;
  p.repository.full_name = `${owner}/${repo}`;
  p.number = number;
  p.pull_request.number = number;
  p.pull_request.base.sha = baseSha;
  p.pull_request.head.sha = headSha;
  p.pull_request.labels = labels.map((name, i) => ({ id: i + 1, name, color: 'ededed', default: false }));
  return p;
}

/** A push payload of `commit` to `branch`, which is also the repository's default branch. */
export function pushPayload(owner: string, repo: string, branch: string, before: string, commit: string): Record<string, any> {
  const p = example('push', undefined, (x) => String(x.ref).startsWith('refs/heads/'));
  p.repository.owner.login = owner;
  p.repository.owner.name = owner;
  p.repository.name = repo;
  p.repository.full_name = `${owner}/${repo}`;
  p.repository.default_branch = branch;
  p.repository.master_branch = branch;
  p.ref = `refs/heads/${branch}`;
  p.before = before;
  p.after = commit;
  return p;
}
