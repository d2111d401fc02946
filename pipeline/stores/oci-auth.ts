/**
 * Registry authentication as the distribution spec's token flow does it: a 401 carries
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the client asks the realm for a token (with Basic
 * credentials when it has them, anonymously otherwise) and retries with `Authorization: Bearer <token>`. A `Basic`
 * challenge is answered with the credentials directly. Tokens and passwords never enter messages.
 */
import { StoreError } from './errors.js';
import { readBodyBounded } from './bounded-read.js';
import { fetchWithTimeout } from './fetch-with-timeout.js';

/** Username and password (or a registry access token as password) for a registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  readonly scheme: 'bearer' | 'basic';
  readonly params: Readonly<Record<string, string>>;
}

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** Parses the first challenge of a `WWW-Authenticate` header; `undefined` for none or an unknown scheme. */
export function parseChallenge(header: string | null): AuthChallenge | undefined {
  const m = /^\s*(Bearer|Basic)\b(.*)$/i.exec(header ?? '');
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: m[1]!.toLowerCase() as 'bearer' | 'basic', params };
}

/** The Basic header value for credentials. */
export function basicAuth(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/**
 * Answers a challenge: the Authorization header value to retry with.
 * @param defaultScope used when a Bearer challenge names no scope (`repository:<name>:pull,push`).
 * @throws StoreError `store-unauthorized` when the challenge cannot be met, `store-unreachable` for the realm.
 */
export async function answerChallenge(challenge: AuthChallenge, credentials: RegistryCredentials | undefined, defaultScope: string,
  send: { fetch: typeof fetch; timeoutMs: number; location: string; signal?: AbortSignal | undefined }): Promise<string> {
  if (challenge.scheme === 'basic') {
    if (!credentials) throw new StoreError('store-unauthorized', `${send.location}: the registry wants a username and password`);
    return basicAuth(credentials);
  }
  const realm = challenge.params.realm;
  if (!realm || !/^https?:\/\//.test(realm)) throw new StoreError('store-unauthorized', `${send.location}: the registry's token challenge names no usable realm`);
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', challenge.params.scope ?? defaultScope);
  const headers: Record<string, string> = credentials ? { Authorization: basicAuth(credentials) } : {};
  const res = await fetchWithTimeout(url.href, { headers }, send);
  const text = new TextDecoder().decode(await readBodyBounded(res.body, MAX_TOKEN_RESPONSE_BYTES, `${send.location}: token`));
  if (res.status !== 200) {
    throw new StoreError('store-unauthorized', `${send.location}: the token service refused ${credentials ? 'the credentials' : 'anonymous access'} (${res.status})`);
  }
  let body: { token?: unknown; access_token?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new StoreError('store-protocol', `${send.location}: the token service answered something that is not JSON`);
  }
  const token = typeof body.token === 'string' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '' || /\s/.test(token)) throw new StoreError('store-protocol', `${send.location}: the token service sent no token`);
  return `Bearer ${token}`;
}
