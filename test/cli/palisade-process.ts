/**
 * Runs `bin/palisade` as a user does (a process on dist/, built by `npm test` / `npx tsc`), with stdout as a pipe,
 * as a file descriptor of the test's choosing (/dev/full), or as a pipe whose reader has already gone away.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/palisade');

/** What a run left: exit status and the text it printed (stdout is '' when it went elsewhere). */
export interface PalisadeRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Throws unless dist/ holds the compiled CLI. */
export function requireDist(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/pipeline/cli/main.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` first');
}

function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
}

/**
 * Runs palisade to completion; `stdoutFd`/`stderrFd` (an open file descriptor, e.g. of /dev/full) replace the
 * stdout/stderr pipe.
 */
export function palisade(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdoutFd?: number; stderrFd?: number; input?: string } = {}): PalisadeRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: childEnv(options.env ?? {}),
    stdio: ['pipe', options.stdoutFd ?? 'pipe', options.stderrFd ?? 'pipe'],
    timeout: 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Runs palisade without blocking this process (for tests that serve HTTP to it). With `closeStdout`, the reading
 * end of its stdout pipe is closed before the child starts, so its first write to stdout fails with EPIPE (the
 * `palisade … | head -c1` case, without the race of head's timing).
 */
export function palisadeAsync(args: readonly string[], options: { env?: NodeJS.ProcessEnv; closeStdout?: boolean } = {}): Promise<PalisadeRun> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: childEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
