/**
 * The GitHub Action's entry (action.yml → bin/palisade-action.mjs → here). It reads the step's inputs (INPUT_*) and
 * GitHub's environment, and runs the same handlers as every other front end:
 * - `mode: check` on a pull_request event: onPullRequest, then the check run and the PR comment, the job summary and
 *   workflow-command annotations; the step fails when the check does.
 * - `mode: publish` on a push to the default branch: onPush (idempotent per commit).
 * A pull request from a fork runs with a read-only token: when GitHub refuses the check run or the comment, a warning
 * says so and the annotations and the job summary are the report.
 * Inputs are documented in action.yml. Exit codes: 0 ok, 1 check failed or nothing could be published, 2 bad inputs.
 */
import { readFile, stat } from 'node:fs/promises';
import { PolicyErrorsError, readSigningKeys } from '../bundle-build/index.js';
import { formatDiagnostic } from '../core/validate/diagnostic.js';
import { onPullRequest, onPush } from '../handlers/index.js';
import { openStore } from '../stores/index.js';
import { appendJobSummary, resultWorkflowCommands } from './action-output.js';
import { createGithubClient } from './client.js';
import { GithubError } from './errors.js';
import { reportPullRequest } from './report-pull-request.js';
import { webhookWork } from './webhook-events.js';
import { workflowCommand } from './workflow-commands.js';

/** Largest event payload read. */
const MAX_EVENT_BYTES = 25 * 1024 * 1024;

/** Where the Action writes. */
export interface ActionIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
}

/**
 * Runs the Action once.
 * @returns the exit code.
 * @throws GithubError `github-action-env` when GitHub's environment lacks what the mode needs; errors of the
 *   handlers and the GitHub API.
 */
export async function runAction(io: ActionIo): Promise<number> {
  const { env } = io;
  const input = (name: string): string => (env[`INPUT_${name.toUpperCase()}`] ?? '').trim();
  const list = (name: string): string[] | undefined => {
    const v = input(name);
    return v === '' ? undefined : v.split(/[\n,]/).map((s) => s.trim()).filter((s) => s !== '');
  };
  const mode = input('mode') || 'check';
  if (mode !== 'check' && mode !== 'publish') throw new GithubError('github-action-env', `input mode must be check or publish, not '${mode}'`);
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const eventName = need(env, 'GITHUB_EVENT_NAME');
  const payload = await readEvent(need(env, 'GITHUB_EVENT_PATH'));
  const policies = input('policies') || undefined;
  const flows = list('flows');
  const inventory = list('inventory');

  if (mode === 'check') {
    const work = webhookWork(eventName, payload);
    if (work.kind !== 'pull-request') {
      io.stdout(`${workflowCommand('notice', { title: 'Palisade' }, `nothing to check for ${eventName}: ${work.kind === 'ignored' ? work.reason : work.kind}`)}\n`);
      return 0;
    }
    const outcome = await onPullRequest({
      repo: workspace,
      base: work.baseSha,
      head: work.headSha,
      labels: work.labels,
      ...(policies ? { policies } : {}),
      // Repository paths, read at the base commit: the pull request cannot swap the traffic it is judged on.
      ...(flows ? { repoFlows: flows } : {}),
      ...(inventory ? { repoInventory: inventory } : {}),
    });
    io.stdout(resultWorkflowCommands(outcome));
    if (env.GITHUB_STEP_SUMMARY) await appendJobSummary(env.GITHUB_STEP_SUMMARY, `## Palisade: ${outcome.title}\n\n${outcome.summary}`);
    const token = input('token') || env.GITHUB_TOKEN;
    if (token) {
      const client = createGithubClient({ token, baseUrl: env.GITHUB_API_URL || 'https://api.github.com' });
      const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
      try {
        await reportPullRequest(client, { owner: work.owner, repo: work.repo, pullNumber: work.number, botLogin: input('bot-login') || 'github-actions[bot]', ...(runUrl ? { detailsUrl: runUrl } : {}) }, outcome);
      } catch (err) {
        // A pull request from a fork gets a read-only GITHUB_TOKEN whatever the workflow asks for: the annotations
        // and the job summary above are its report, and the step still passes or fails with the check.
        if (!(err instanceof GithubError && err.code === 'github-permission' && fromFork(payload))) throw err;
        io.stdout(`${workflowCommand('warning', { title: 'Palisade' }, `the check run and the comment were not posted: this pull request comes from a fork, whose token is read-only (${err.message})`)}\n`);
      }
    }
    return outcome.conclusion === 'failure' ? 1 : 0;
  }

  // publish
  const store = input('store');
  if (!store) throw new GithubError('github-action-env', 'mode publish needs the store input');
  const key = input('key');
  // The key input is a path, or the PEM itself (from a secret).
  const keys = await readSigningKeys(key && !key.includes('-----BEGIN') ? [key] : [], key.includes('-----BEGIN') ? { PALISADE_SIGNING_KEY: key } : env);
  if (keys.length === 0) throw new GithubError('github-action-env', 'mode publish needs the key input (a key file path or the PEM from a secret)');
  // Only a push to the default branch publishes (the workflow's filter could be edited away).
  const work = webhookWork(eventName, payload);
  if (work.kind !== 'push') {
    io.stdout(`${workflowCommand('notice', { title: 'Palisade publish' }, `nothing to publish for ${eventName}: ${work.kind === 'ignored' ? work.reason : work.kind}`)}\n`);
    return 0;
  }
  const commit = work.commit;
  try {
    const r = await onPush({
      repo: workspace,
      commit,
      store: openStore(store, { token: input('store-token') || undefined }),
      keys,
      ...(policies ? { policies } : {}),
      ...(flows ? { flows } : {}),
      ...(inventory ? { inventory } : {}),
    });
    const said = r.kind === 'published' ? `published serial ${r.descriptor.serial} (${r.descriptor.digest})` : `${r.kind}: the store's latest is serial ${r.latest.descriptor.serial} from ${r.latest.commit.slice(0, 12)}`;
    io.stdout(`${workflowCommand('notice', { title: 'Palisade publish' }, `${commit.slice(0, 12)}: ${said}`)}\n`);
    if (env.GITHUB_STEP_SUMMARY) await appendJobSummary(env.GITHUB_STEP_SUMMARY, `## Palisade publish\n\n${commit.slice(0, 12)}: ${said}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof PolicyErrorsError)) throw err;
    for (const d of err.diagnostics) io.stdout(`${workflowCommand('error', { file: d.pos.file, line: d.pos.line || undefined, col: d.pos.col || undefined, title: d.code }, d.message)}\n`);
    io.stdout(`${err.diagnostics.map(formatDiagnostic).join('\n')}\n`);
    return 1;
  }
}

/**
 * The event payload GitHub wrote.
 * @throws GithubError `github-action-env` when it cannot be read, is larger than GitHub's 25 MB or is not JSON.
 */
async function readEvent(file: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    const s = await stat(file);
    if (!s.isFile() || s.size > MAX_EVENT_BYTES) throw new GithubError('github-action-env', `$GITHUB_EVENT_PATH: not a file of at most ${MAX_EVENT_BYTES} bytes`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof GithubError) throw err;
    throw new GithubError('github-action-env', `$GITHUB_EVENT_PATH: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new GithubError('github-action-env', '$GITHUB_EVENT_PATH: the event payload is not JSON');
  }
}

/** Whether a pull_request payload's head is in another repository than its base. */
function fromFork(payload: unknown): boolean {
  const pr = (payload as { pull_request?: { head?: { repo?: { full_name?: unknown } | null }; base?: { repo?: { full_name?: unknown } } } } | null)?.pull_request;
  const head = pr?.head?.repo?.full_name;
  const base = pr?.base?.repo?.full_name;
  // A deleted fork leaves head.repo null: still not the base repository.
  return typeof base === 'string' && head !== base;
}

function need(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new GithubError('github-action-env', `$${name} is not set: run this as a GitHub Action step`);
  return v;
}
