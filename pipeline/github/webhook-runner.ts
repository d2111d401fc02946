/**
 * What the webhook receiver runs for each accepted delivery: the same handlers as every other front end. A pull
 * request is checked (`onPullRequest`) and reported (check run + comment); a push to the main branch is published
 * (`onPush`, idempotent per commit, so the webhook and `palisade watch` can both see a merge). Commits missing from
 * the local repository are fetched from its origin first.
 */
import type { SigningKey } from '../core/bundle/index.js';
import { ensureCommits, openRepository } from '../git/index.js';
import { onPullRequest, onPush } from '../handlers/index.js';
import type { BundleStore } from '../stores/index.js';
import type { GithubClient } from './client.js';
import { reportPullRequest } from './report-pull-request.js';
import type { WebhookWork } from './webhook-events.js';

/** What running webhook work needs. */
export interface WebhookRunnerDeps {
  /** A local clone of the policy repository (its `origin` is fetched when a commit is missing). */
  readonly repoDir: string;
  /**
   * `owner/name` of that repository on GitHub: deliveries for any other repository (an App installed on several)
   * are skipped, never checked against the wrong clone.
   */
  readonly repository: string;
  /** The GitHub client for a repository (an App installation token is per repository). */
  readonly github: (owner: string, repo: string) => GithubClient;
  readonly botLogin: string;
  /** Where pushes are published; without it, pushes are ignored (a check-only receiver). */
  readonly store?: BundleStore;
  readonly keys?: readonly SigningKey[];
  /** Recorded flows on disk for checks (default: palisade.yaml's, read from the base commit). */
  readonly flows?: readonly string[];
  readonly inventory?: readonly string[];
  readonly log?: (line: string) => void;
}

/** A function the receiver's `run` option takes. */
export function webhookRunner(deps: WebhookRunnerDeps): (work: Exclude<WebhookWork, { kind: 'ignored' }>, delivery: string) => Promise<void> {
  const log = deps.log ?? (() => {});
  const expected = deps.repository.toLowerCase();
  return async (work, delivery) => {
    if (`${work.owner}/${work.repo}`.toLowerCase() !== expected) {
      log(`delivery ${delivery}: for ${work.owner}/${work.repo}, not ${deps.repository}; skipped`);
      return;
    }
    const repo = await openRepository(deps.repoDir);
    if (work.kind === 'pull-request') {
      await ensureCommits(repo, [work.baseSha, work.headSha]);
      const outcome = await onPullRequest({
        repo: deps.repoDir,
        base: work.baseSha,
        head: work.headSha,
        labels: work.labels,
        ...(deps.flows ? { flows: deps.flows } : {}),
        ...(deps.inventory ? { inventory: deps.inventory } : {}),
      });
      const r = await reportPullRequest(deps.github(work.owner, work.repo), { owner: work.owner, repo: work.repo, pullNumber: work.number, botLogin: deps.botLogin }, outcome);
      log(`delivery ${delivery}: ${work.owner}/${work.repo}#${work.number} at ${work.headSha.slice(0, 12)}: ${outcome.conclusion}, check ${r.check.kind}, comment ${r.comment.kind}`);
      return;
    }
    if (!deps.store || !deps.keys || deps.keys.length === 0) {
      log(`delivery ${delivery}: push ${work.commit.slice(0, 12)} not published (no store or signing key configured)`);
      return;
    }
    await ensureCommits(repo, [work.commit]);
    const r = await onPush({ repo: deps.repoDir, commit: work.commit, store: deps.store, keys: deps.keys });
    log(`delivery ${delivery}: push ${work.commit.slice(0, 12)}: ${r.kind === 'published' ? `published serial ${r.descriptor.serial}` : `${r.kind} (latest serial ${r.latest.descriptor.serial})`}`);
  };
}
