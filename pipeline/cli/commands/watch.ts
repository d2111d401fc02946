/**
 * `palisade watch --repo PATH|URL --branch NAME --store URL --key PREFIX.key [--key …] [--interval DURATION]
 * [--cache DIR] [--token-file FILE] [--once]`: follows a branch and publishes every new commit, in order, with the
 * same handler as the webhook (`onPush`). The position is read from the store each round, so a restart neither
 * loses nor repeats a publish. SIGTERM or SIGINT stops it between commits.
 *
 * Exit codes: 0 stopped (or `--once` done); 1 a publish failed with `--once` (policy errors, store refused); 2 usage
 * or a repository that cannot be read.
 */
import { UsageError } from '../../core/errors.js';
import { formatDiagnostic } from '../../core/validate/diagnostic.js';
import { parseCommandArgs } from '../command-args.js';
import { parseDuration, PolicyErrorsError, readSigningKeys, SIGNING_KEY_ENV } from '../../bundle-build/index.js';
import { loadStoreToken, ociCredentialsFromEnv, openStore } from '../../stores/index.js';
import { followBranch, openBranchSource } from '../../watch/index.js';
import type { PushResult } from '../../handlers/index.js';
import { reportError } from '../main.js';
import { errorLine, printLine } from '../output.js';

const USAGE =
  'usage: palisade watch --repo PATH|URL --branch NAME --store URL --key PREFIX.key [--key…]\n' +
  '                      [--interval DURATION] [--cache DIR] [--token-file FILE] [--once]';

/** Runs `palisade watch`. @returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      repo: { type: 'string' },
      branch: { type: 'string', default: 'main' },
      store: { type: 'string' },
      key: { type: 'string', multiple: true, default: [] },
      interval: { type: 'string', default: '10s' },
      cache: { type: 'string' },
      'token-file': { type: 'string' },
      once: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.repo || !values.store) throw new UsageError(`--repo and --store are required`, USAGE);
  const intervalMs = parseDuration(values.interval);
  const keys = await readSigningKeys(values.key, process.env);
  if (keys.length === 0) throw new UsageError(`watch publishes signed bundles: --key PREFIX.key or $${SIGNING_KEY_ENV}`, USAGE);
  const store = openStore(values.store, { token: await loadStoreToken(values['token-file']), ociCredentials: ociCredentialsFromEnv() });
  const source = await openBranchSource(values.repo, values.branch, values.cache);

  const stop = new AbortController();
  const onSignal = (signal: string) => (): void => {
    errorLine(`palisade watch: ${signal}, stopping after the current commit`);
    stop.abort();
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const say = (line: string): void => errorLine(`palisade watch: ${line}`);
  say(`following ${source.description}, publishing to ${store.location}`);
  try {
    await followBranch({
      source,
      store,
      keys,
      signal: stop.signal,
      intervalMs,
      once: values.once,
      log: say,
      onResult: (r) => void printLine(describe(r)),
      onError: (err) => {
        if (err instanceof PolicyErrorsError) for (const d of err.diagnostics) say(formatDiagnostic(d));
        reportError(err);
      },
    });
    return 0;
  } catch (err) {
    if (err instanceof PolicyErrorsError) {
      for (const d of err.diagnostics) errorLine(formatDiagnostic(d));
      say(`${err.diagnostics.length} error(s) in the policies; nothing published`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

function describe(r: PushResult): string {
  const c = r.commit.slice(0, 12);
  switch (r.kind) {
    case 'published':
      return `${c}: published serial ${r.descriptor.serial} (${r.descriptor.digest})`;
    case 'already-published':
      return `${c}: already published as serial ${r.latest.descriptor.serial}; nothing to do`;
    case 'superseded':
      return `${c}: older than the published ${r.latest.commit.slice(0, 12)} (serial ${r.latest.descriptor.serial}); not published`;
  }
}
