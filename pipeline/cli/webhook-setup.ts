/**
 * The webhook part of `palisade serve`: its options, and mounting the receiver on the store server's HTTP server.
 * Kept beside the command so serve.ts only gains a few lines.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { UsageError } from '../core/errors.js';
import { readSigningKeys } from '../bundle-build/index.js';
import { createWebhookReceiver, githubClientsFromEnv, mountOnPath, webhookRunner, type WebhookReceiver } from '../github/index.js';
import type { BundleStore } from '../stores/index.js';

/** Where the receiver listens. */
export const WEBHOOK_PATH = '/github/webhook';

/** The options `palisade serve` gains. */
export const WEBHOOK_OPTIONS = {
  'webhook-secret-file': { type: 'string' },
  repo: { type: 'string' },
  'github-repo': { type: 'string' },
  key: { type: 'string', multiple: true, default: [] as string[] },
  'main-branch': { type: 'string' },
  'bot-login': { type: 'string' },
} as const;

/** Usage lines of those options. */
export const WEBHOOK_USAGE =
  '       [--webhook-secret-file FILE --repo DIR --github-repo OWNER/NAME [--key PREFIX.key…] [--main-branch NAME]\n' +
  '        [--bot-login LOGIN]]';

const MAX_SECRET_BYTES = 4096;

/**
 * Starts the receiver when --webhook-secret-file is given.
 * @returns the receiver (to close on shutdown), or undefined when webhooks are off.
 * @throws UsageError for a missing --repo or an unreadable or empty secret file; GithubError `github-app-config`.
 */
export async function startWebhook(
  values: { 'webhook-secret-file'?: string | undefined; repo?: string | undefined; 'github-repo'?: string | undefined; key: string[]; 'main-branch'?: string | undefined; 'bot-login'?: string | undefined },
  server: Server,
  store: BundleStore,
  log: (line: string) => void,
): Promise<WebhookReceiver | undefined> {
  const file = values['webhook-secret-file'];
  if (file === undefined) return undefined;
  if (!values.repo) throw new UsageError('--webhook-secret-file needs --repo DIR (a local clone of the policy repository)');
  const repository = values['github-repo'];
  if (!repository || !/^[\w.-]+\/[\w.-]+$/.test(repository)) throw new UsageError('--webhook-secret-file needs --github-repo OWNER/NAME (the repository --repo is a clone of)');
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile() || s.size > MAX_SECRET_BYTES) throw new UsageError(`${file}: not a webhook secret file of at most ${MAX_SECRET_BYTES} bytes`);
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret === '') throw new UsageError(`${file}: the webhook secret is empty`);
  const keys = await readSigningKeys(values.key, process.env);
  const github = githubClientsFromEnv(process.env, values['bot-login'] ?? process.env.PALISADE_GITHUB_BOT_LOGIN);
  // Known before the first delivery: the comment is found by it, so a wrong one would add a comment per push.
  const botLogin = await github.botLogin();
  const receiver = createWebhookReceiver({
    secret,
    ...(values['main-branch'] ? { mainBranch: values['main-branch'] } : {}),
    log,
    run: webhookRunner({
      repoDir: values.repo,
      repository,
      github: github.clients,
      botLogin,
      store,
      keys,
      log,
    }),
  });
  mountOnPath(server, WEBHOOK_PATH, receiver.handle);
  return receiver;
}
