/**
 * GitHub credentials from the environment, for every front end: a token (`GITHUB_TOKEN`, as Actions provides it),
 * or a GitHub App (`PALISADE_GITHUB_APP_ID`, `PALISADE_GITHUB_APP_PRIVATE_KEY_FILE`, optionally
 * `PALISADE_GITHUB_APP_INSTALLATION_ID`), and the API URL (`GITHUB_API_URL`, default https://api.github.com).
 */
import { readFileSync } from 'node:fs';
import { appBotLogin, installationTokenSource } from './app-auth.js';
import { createGithubClient, type GithubClient } from './client.js';
import { GithubError } from './errors.js';

/** Largest App private key file read. */
const MAX_KEY_BYTES = 16 * 1024;

/** Clients per repository, and the login Palisade's comments carry. */
export interface GithubIdentity {
  readonly clients: (owner: string, repo: string) => GithubClient;
  /** `github-actions[bot]` for a token (or the given login), `<app slug>[bot]` for an App. */
  readonly botLogin: () => Promise<string>;
}

/**
 * A client factory per repository from the environment.
 * @param botLogin the login the token comments as, when known (a personal or bot token); an App's is looked up.
 * @throws GithubError `github-app-config` when neither a token nor complete App settings are present, or the key
 *   file cannot be read.
 */
export function githubClientsFromEnv(env: NodeJS.ProcessEnv, botLogin?: string): GithubIdentity {
  const baseUrl = env.GITHUB_API_URL || 'https://api.github.com';
  const token = env.GITHUB_TOKEN || env.PALISADE_GITHUB_TOKEN;
  if (token) {
    const client = createGithubClient({ token, baseUrl });
    return { clients: () => client, botLogin: async () => botLogin ?? 'github-actions[bot]' };
  }
  const appId = env.PALISADE_GITHUB_APP_ID;
  const keyFile = env.PALISADE_GITHUB_APP_PRIVATE_KEY_FILE;
  if (!appId || !keyFile) {
    throw new GithubError('github-app-config', 'no GitHub credentials: set GITHUB_TOKEN, or PALISADE_GITHUB_APP_ID and PALISADE_GITHUB_APP_PRIVATE_KEY_FILE');
  }
  let pem: string;
  try {
    const bytes = readFileSync(keyFile);
    if (bytes.length > MAX_KEY_BYTES) throw new Error('too large');
    pem = bytes.toString('utf8');
  } catch (err) {
    throw new GithubError('github-app-config', `${keyFile}: the GitHub App private key cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const installation = env.PALISADE_GITHUB_APP_INSTALLATION_ID;
  const installationId = installation && /^\d+$/.test(installation) ? Number(installation) : undefined;
  const credentials = { appId, privateKeyPem: pem, ...(installationId ? { installationId } : {}) };
  const clients = new Map<string, GithubClient>();
  let login: Promise<string> | undefined;
  return {
    clients: (owner, repo) => {
      const key = `${owner}/${repo}`;
      let c = clients.get(key);
      if (!c) clients.set(key, (c = createGithubClient({ token: installationTokenSource({ credentials, owner, repo, baseUrl }), baseUrl })));
      return c;
    },
    botLogin: () => (login ??= botLogin !== undefined ? Promise.resolve(botLogin) : appBotLogin({ credentials, baseUrl })),
  };
}
