/**
 * Publishing one pull-request result to GitHub: the check run on the head commit, then the one comment on the pull
 * request. Both are idempotent, so a redelivered event or a restarted handler leaves GitHub as it was.
 */
import type { PullRequestOutcome } from '../handlers/index.js';
import { publishCheckRun, type CheckRunOutcome } from './check-run.js';
import type { GithubClient } from './client.js';
import { upsertPullRequestComment, type CommentOutcome } from './pr-comment.js';

/** The pull request the result is about. */
export interface PullRequestTarget {
  readonly owner: string;
  readonly repo: string;
  readonly pullNumber: number;
  readonly botLogin: string;
  readonly checkName?: string;
  readonly detailsUrl?: string;
}

/**
 * Publishes the check run and the comment.
 * @returns what each did, and the requests made in all.
 * @throws GithubError from either call (the check is published first, so a comment failure leaves the check).
 */
export async function reportPullRequest(
  client: GithubClient,
  target: PullRequestTarget,
  outcome: PullRequestOutcome,
): Promise<{ check: CheckRunOutcome; comment: CommentOutcome; requests: number }> {
  const check = await publishCheckRun(
    client,
    {
      owner: target.owner,
      repo: target.repo,
      headSha: outcome.headCommit,
      ...(target.checkName ? { name: target.checkName } : {}),
      ...(target.detailsUrl ? { detailsUrl: target.detailsUrl } : {}),
    },
    outcome,
  );
  const footer = `\n<sub>Palisade checked ${outcome.headCommit.slice(0, 12)} against ${outcome.baseCommit.slice(0, 12)}.</sub>\n`;
  const comment = await upsertPullRequestComment(client, target, outcome.comment + footer);
  return { check, comment, requests: check.requests + comment.requests };
}
