/**
 * Errors of the GitHub integration. Callers branch on `code`; messages name the endpoint and what to fix, and never
 * carry a token, a JWT or a private key.
 */
import { PalisadeError } from '../core/errors.js';

/** Stable codes of {@link GithubError}. */
export type GithubErrorCode =
  /** 401: the token or App credentials were refused. */
  | 'github-unauthorized'
  /** 403/404 on an endpoint that needs a permission the token lacks; `permission` names it. */
  | 'github-permission'
  /** Still rate limited after the retries allowed. */
  | 'github-rate-limited'
  /** 5xx or network failure after the retries allowed. */
  | 'github-unavailable'
  /** 422 and other refusals of what was sent. */
  | 'github-rejected'
  /** GitHub App settings (id, key, installation) that cannot be used. */
  | 'github-app-config'
  /** The Actions environment lacks something the Action needs. */
  | 'github-action-env';

/** A GitHub API call failed. */
export class GithubError extends PalisadeError {
  declare readonly code: GithubErrorCode;
  /** HTTP status when there was a response. */
  readonly status: number | undefined;
  /** The permission the token needs (`checks: write`), for `github-permission`. */
  readonly permission: string | undefined;
  constructor(code: GithubErrorCode, message: string, options?: { cause?: unknown; status?: number; permission?: string }) {
    super(code, message, options);
    this.status = options?.status;
    this.permission = options?.permission;
  }
}
