/**
 * When to retry a GitHub API call, as a pure function: rate limits (429, or 403 with `x-ratelimit-remaining: 0`, a
 * `retry-after`, or GitHub's "secondary rate limit" message, which may come with neither header) wait what GitHub
 * says (`retry-after` seconds, else until `x-ratelimit-reset`, else a minute, as GitHub advises), 5xx and network
 * errors back off exponentially; everything else is final.
 */

/** Bounds of the policy. */
export interface RetryLimits {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** First back-off, doubled per retry, in milliseconds. */
  readonly baseDelayMs: number;
  /** Longest single wait, in milliseconds: a longer rate-limit reset fails instead of hanging. */
  readonly maxDelayMs: number;
}

/** Defaults: 4 retries, 500 ms doubling, waits of at most 60 s. */
export const DEFAULT_RETRY_LIMITS: RetryLimits = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 60_000 };

/** What a failed attempt looked like: a status and headers, or a network error (status undefined). */
export interface FailedAttempt {
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string | number | undefined>>;
  /** 0 for the first retry. */
  readonly retry: number;
  /** Now, in Unix milliseconds (for `x-ratelimit-reset`). */
  readonly nowMs: number;
  /** The `message` of GitHub's error body, when there was one. */
  readonly message?: string;
}

/** The decision: wait this many milliseconds and retry, or give up (`null`), and whether it was a rate limit. */
export interface RetryDecision {
  readonly delayMs: number | null;
  readonly rateLimited: boolean;
}

/** Decides whether and when to retry. */
export function retryDecision(attempt: FailedAttempt, limits: RetryLimits = DEFAULT_RETRY_LIMITS): RetryDecision {
  const h = attempt.headers;
  const retryAfter = Number(h['retry-after']);
  const remaining = h['x-ratelimit-remaining'];
  const secondary = /\bsecondary rate limit\b/i.test(attempt.message ?? '');
  const rateLimited = attempt.status === 429 || (attempt.status === 403 && (String(remaining) === '0' || (Number.isFinite(retryAfter) && h['retry-after'] !== undefined) || secondary));
  const isServer = attempt.status === undefined || attempt.status >= 500;
  if ((!rateLimited && !isServer) || attempt.retry >= limits.maxRetries) return { delayMs: null, rateLimited };
  let delay: number;
  if (rateLimited && h['retry-after'] !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) delay = retryAfter * 1000;
  else if (rateLimited && h['x-ratelimit-reset'] !== undefined && Number.isFinite(Number(h['x-ratelimit-reset']))) delay = Math.max(0, Number(h['x-ratelimit-reset']) * 1000 - attempt.nowMs) + 1000;
  else if (rateLimited) delay = 60_000; // GitHub's advice for a secondary limit without a header: wait a minute
  else delay = limits.baseDelayMs * 2 ** attempt.retry;
  if (delay > limits.maxDelayMs) return { delayMs: null, rateLimited };
  return { delayMs: delay, rateLimited };
}
