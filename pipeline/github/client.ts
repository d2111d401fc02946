/**
 * The one GitHub API client the integration uses: @octokit/rest with the token attached per request (a fixed token,
 * or a GitHub App installation token that renews itself), retries with back-off honouring `retry-after` and the
 * rate-limit reset, and failures turned into {@link GithubError}s that say which permission is missing. Tokens
 * never reach a message: octokit's own log is silenced and error texts are redacted.
 */
import { Octokit } from '@octokit/rest';
import { GithubError } from './errors.js';
import { permissionFor } from './permissions.js';
import { DEFAULT_RETRY_LIMITS, retryDecision, type RetryLimits } from './retry-policy.js';

/** Where a request's token comes from: a fixed token, or a function asked before every request (App tokens). */
export type TokenSource = string | (() => Promise<string>);

/** Options of {@link createGithubClient}. */
export interface GithubClientOptions {
  readonly token: TokenSource;
  /** Default https://api.github.com (Actions: $GITHUB_API_URL; GitHub Enterprise: https://HOST/api/v3). */
  readonly baseUrl?: string;
  readonly retry?: Partial<RetryLimits>;
  /** Waits between retries (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Each request's method and route after it finished, for counting and logs. */
  readonly onRequest?: (method: string, url: string, status: number | undefined) => void;
  readonly fetch?: typeof globalThis.fetch;
}

/** The client type every GitHub module takes. */
export type GithubClient = Octokit;

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Creates the client. Nothing is sent until the first call. */
export function createGithubClient(options: GithubClientOptions): GithubClient {
  const octokit = new Octokit({
    baseUrl: (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'palisade',
    log: SILENT,
    request: { ...(options.fetch ? { fetch: options.fetch } : {}), retries: 0 },
  });
  const limits = { ...DEFAULT_RETRY_LIMITS, ...options.retry };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method);
    const url = String(requestOptions.url);
    for (let retry = 0; ; retry++) {
      const token = typeof options.token === 'string' ? options.token : await options.token();
      requestOptions.headers = { ...requestOptions.headers, authorization: `bearer ${token}` };
      try {
        const response = await request(requestOptions);
        options.onRequest?.(method, url, response.status);
        return response;
      } catch (err) {
        const status = (err as { status?: number }).status;
        const real = typeof status === 'number' && status > 0 ? status : undefined;
        options.onRequest?.(method, url, real);
        const headers = ((err as { response?: { headers?: Record<string, string | number | undefined> } }).response?.headers) ?? {};
        const message = (err as { response?: { data?: { message?: unknown } } }).response?.data?.message;
        const decision = retryDecision({ status: real, headers, retry, nowMs: now(), ...(typeof message === 'string' ? { message } : {}) }, limits);
        if (decision.delayMs !== null) {
          await sleep(decision.delayMs);
          continue;
        }
        throw toGithubError(err, method, routeOf(requestOptions), real, decision.rateLimited, token);
      }
    }
  });
  return octokit;
}

/** The path of a request with its parameters filled in, without the query. */
function routeOf(o: { url?: unknown; baseUrl?: unknown } & Record<string, unknown>): string {
  let url = String(o.url);
  url = url.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(o[k] ?? `{${k}}`)));
  return url.split('?')[0]!;
}

function toGithubError(err: unknown, method: string, path: string, status: number | undefined, rateLimited: boolean, token: string): GithubError {
  const data = (err as { response?: { data?: { message?: unknown } } }).response?.data;
  const said = typeof data?.message === 'string' ? `: ${redact(data.message.slice(0, 300), token)}` : '';
  const what = `${method} ${path}`;
  if (status === undefined) return new GithubError('github-unavailable', `${what}: GitHub could not be reached (${redact((err as Error).message ?? 'network error', token).slice(0, 200)})`, { cause: err });
  if (rateLimited) return new GithubError('github-rate-limited', `${what}: rate limited by GitHub${said}; try again after the limit resets`, { status });
  if (status === 401) return new GithubError('github-unauthorized', `${what}: 401, the token was refused (expired, revoked or for another host)${said}`, { status });
  if (status === 403 || status === 404) {
    const permission = permissionFor(method, path);
    const need = permission ? `; the token needs ${permission}` : '';
    return new GithubError('github-permission', `${what}: ${status}${said}${need}`, { status, ...(permission ? { permission } : {}) });
  }
  if (status >= 500) return new GithubError('github-unavailable', `${what}: ${status} from GitHub after retries${said}`, { status });
  return new GithubError('github-rejected', `${what}: ${status}${said}`, { status });
}

/** Removes the token and anything shaped like a GitHub token or a bearer credential from a text. */
export function redact(text: string, token?: string): string {
  let out = token && token.length >= 8 ? text.split(token).join('[redacted]') : text;
  out = out.replace(/\b(gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '[redacted]');
  return out.replace(/\b(token|bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]');
}
