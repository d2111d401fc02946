/**
 * The one pull-request comment Palisade keeps: found by a hidden marker AND by its author being the bot Palisade
 * runs as (a comment someone else wrote with the marker is never taken over), updated in place when the body
 * changed, left alone when it did not, created when there is none.
 */
import type { GithubClient } from './client.js';

/** The hidden marker the comment starts with. */
export const COMMENT_MARKER = '<!-- palisade:pull-request-impact -->';
/** GitHub's limit on a comment body, in characters. */
export const COMMENT_BODY_LIMIT = 65_536;
/** Comments read looking for ours (100 per page). */
const MAX_PAGES = 30;

/** Where the comment goes and who Palisade is. */
export interface CommentTarget {
  readonly owner: string;
  readonly repo: string;
  readonly pullNumber: number;
  /** The login comments are posted as (`github-actions[bot]`, `<app-slug>[bot]`). */
  readonly botLogin: string;
}

/** What {@link upsertPullRequestComment} did. */
export interface CommentOutcome {
  readonly kind: 'created' | 'updated' | 'unchanged';
  readonly commentId: number;
  readonly requests: number;
}

/**
 * Makes the pull request's Palisade comment say `markdown` (the marker is added here).
 * @throws GithubError (`github-permission` names `pull-requests: write`); RangeError when the body is above
 *   GitHub's limit (the handler keeps it below).
 */
export async function upsertPullRequestComment(client: GithubClient, target: CommentTarget, markdown: string): Promise<CommentOutcome> {
  const body = `${COMMENT_MARKER}\n${markdown}`;
  if (body.length > COMMENT_BODY_LIMIT) throw new RangeError(`a comment of ${body.length} characters is above GitHub's ${COMMENT_BODY_LIMIT}`);
  let requests = 0;
  let ours: { id: number; body: string } | undefined;
  for (let page = 1; page <= MAX_PAGES && !ours; page++) {
    const { data } = await client.rest.issues.listComments({ owner: target.owner, repo: target.repo, issue_number: target.pullNumber, per_page: 100, page });
    requests++;
    const found = data.find((c) => c.user?.login === target.botLogin && (c.body ?? '').startsWith(COMMENT_MARKER));
    if (found) ours = { id: found.id, body: found.body ?? '' };
    if (data.length < 100) break;
  }
  if (ours && ours.body === body) return { kind: 'unchanged', commentId: ours.id, requests };
  if (ours) {
    await client.rest.issues.updateComment({ owner: target.owner, repo: target.repo, comment_id: ours.id, body });
    return { kind: 'updated', commentId: ours.id, requests: requests + 1 };
  }
  const { data } = await client.rest.issues.createComment({ owner: target.owner, repo: target.repo, issue_number: target.pullNumber, body });
  return { kind: 'created', commentId: data.id, requests: requests + 1 };
}
