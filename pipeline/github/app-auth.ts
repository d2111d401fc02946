/**
 * GitHub App authentication without another dependency: a JWT (RS256, signed with node:crypto) proves the app, and
 * exchanging it at `POST /app/installations/{id}/access_tokens` gives an installation token, cached until shortly
 * before it expires. Neither the key nor a token ever appears in a message.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { createGithubClient, type TokenSource } from './client.js';
import { GithubError } from './errors.js';

/** A GitHub App's credentials. */
export interface GithubAppCredentials {
  readonly appId: string;
  /** The app's private key (PEM, PKCS#1 or PKCS#8). */
  readonly privateKeyPem: string;
  /** Default: looked up from `owner/repo` (GET /repos/{owner}/{repo}/installation). */
  readonly installationId?: number;
}

/**
 * A signed app JWT: issued 60 s in the past (clock drift), valid 9 minutes (GitHub allows 10).
 * @param nowMs Unix milliseconds.
 * @throws GithubError `github-app-config` for a malformed app id or a key that is not an RSA private key.
 */
export function appJwt(appId: string, privateKeyPem: string, nowMs: number): string {
  if (!/^\d{1,20}$/.test(appId) && !/^Iv[0-9A-Za-z.]{1,40}$/.test(appId)) {
    throw new GithubError('github-app-config', 'the GitHub App id must be the numeric app id or the client id');
  }
  const key = rsaKey(privateKeyPem);
  const now = Math.floor(nowMs / 1000);
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iat: now - 60, exp: now + 540, iss: appId })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${signature}`;
}

function rsaKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new GithubError('github-app-config', 'the GitHub App private key is not a readable PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new GithubError('github-app-config', `the GitHub App private key must be RSA, not ${key.asymmetricKeyType}`);
  return key;
}

/** Options of {@link installationTokenSource}. */
export interface InstallationTokenOptions {
  readonly credentials: GithubAppCredentials;
  readonly owner: string;
  readonly repo: string;
  readonly baseUrl?: string;
  readonly now?: () => number;
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * A token source that mints installation tokens (scoped to `repo`) and renews them 5 minutes before they expire.
 * @throws (when asked for a token) GithubError: `github-app-config`, `github-permission` (app not installed on the
 *   repository), `github-unauthorized` (key does not belong to the app).
 */
export function installationTokenSource(options: InstallationTokenOptions): TokenSource {
  const now = options.now ?? Date.now;
  let cached: { token: string; expiresMs: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const appClient = (): Octokit =>
    createGithubClient({
      token: async () => appJwt(options.credentials.appId, options.credentials.privateKeyPem, now()),
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      now,
    });
  const mint = async (): Promise<string> => {
    const app = appClient();
    const installationId =
      options.credentials.installationId ?? (await app.rest.apps.getRepoInstallation({ owner: options.owner, repo: options.repo })).data.id;
    const { data } = await app.rest.apps.createInstallationAccessToken({ installation_id: installationId, repositories: [options.repo] });
    cached = { token: data.token, expiresMs: Date.parse(data.expires_at) };
    return data.token;
  };
  return async () => {
    if (cached && cached.expiresMs - 5 * 60_000 > now()) return cached.token;
    inFlight ??= mint().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

/**
 * The login an App's comments carry: `<app slug>[bot]` (GET /app with the app JWT).
 * @throws GithubError as {@link installationTokenSource}.
 */
export async function appBotLogin(options: Omit<InstallationTokenOptions, 'owner' | 'repo'>): Promise<string> {
  const now = options.now ?? Date.now;
  const app = createGithubClient({
    token: async () => appJwt(options.credentials.appId, options.credentials.privateKeyPem, now()),
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    now,
  });
  const { data } = await app.rest.apps.getAuthenticated();
  const slug = data?.slug;
  if (typeof slug !== 'string' || !/^[a-z0-9-]{1,100}$/i.test(slug)) throw new GithubError('github-app-config', 'GET /app did not name the app (no slug)');
  return `${slug}[bot]`;
}
