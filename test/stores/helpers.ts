/**
 * Shared fixtures for the store tests: real bundle files (built with the bundle format's own assembler), a free
 * port, the real Debian docker-registry, and a real `palisade serve` child process.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assembleBundle } from '../../pipeline/core/bundle/assemble.js';
import { COMPONENT } from '../../pipeline/core/bundle/components.js';
import { PALISADE_ABI_VERSION } from '../../pipeline/core/bundle/abi-version.js';
import { StoreError } from '../../pipeline/stores/errors.js';
import type { RecordStore } from '../../pipeline/stores/records.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(REPO_ROOT, 'bin/palisade');

/**
 * A real (unsigned) bundle file with this serial; `salt` makes different bundles of the same serial. It was created
 * 2026-11-28T10:00:00Z and expires at `expiresAt` (default a year later).
 */
export function makeBundle(serial: number, salt = '', padBytes = 0, expiresAt = new Date('2027-11-28T10:00:00Z')): Uint8Array {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return assembleBundle({
    serial,
    source: { repository: 'test/policies', commit: `c${serial}${salt}` },
    createdAt: new Date('2026-11-28T10:00:00Z'),
    expiresAt,
    abiVersion: PALISADE_ABI_VERSION,
  }, [
    { ...COMPONENT.policyModel, bytes: text(JSON.stringify({ serial, salt, pad: 'x'.repeat(padBytes) })) },
    { ...COMPONENT.bpfObject, bytes: text('\x7fELF not really an object, the store does not care') },
    { ...COMPONENT.probes, bytes: text('{"probe":1}\n') },
  ], []).bytes;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `palisade-g-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

async function waitFor(url: string, child: ChildProcess, what: string, output: () => string = () => '', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${output()}`);
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not answer at ${url}`);
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
    child.kill(signal);
  });
}

/**
 * The real distribution registry (Debian's docker-registry) on 127.0.0.1 with storage in a temp dir;
 * `extraConfig` lines are appended to its YAML configuration (e.g. an `auth:` section). `down()` stops it keeping
 * its data and port; `up(extraConfig, storageConfig)` starts it again on them, optionally with other extra
 * configuration (`storageConfig`: lines inside `storage:`, indented by two spaces, e.g. a read-only `maintenance:`).
 */
export async function startRegistry(extraConfig: string[] = []): Promise<{ host: string; stop(): Promise<void>; down(): Promise<void>; up(extra?: string[], storage?: string[]): Promise<void> }> {
  await access('/usr/bin/docker-registry');
  const dir = await tempDir('registry');
  const port = await freePort();
  const config = join(dir.path, 'config.yml');
  let child: ChildProcess | undefined;
  const up = async (extra: string[] = extraConfig, storage: string[] = []): Promise<void> => {
    await writeFile(config, [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir.path, 'data')}`,
      ...storage,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...extra,
      '',
    ].join('\n'));
    const c = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.resume();
    child = c;
    await waitFor(`http://127.0.0.1:${port}/`, c, 'docker-registry');
  };
  await up();
  return {
    host: `127.0.0.1:${port}`,
    up,
    async down() {
      if (child) await stopChild(child);
      child = undefined;
    },
    async stop() {
      if (child) await stopChild(child);
      await dir.remove();
    },
  };
}

/** The registry {@link startRegistry} runs. */
export type RunningRegistry = Awaited<ReturnType<typeof startRegistry>>;

/** Starts a registry before the tests of the calling suite and stops it after; call the result in a test. */
export function useRegistry(): () => RunningRegistry {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
  });
  return () => registry!;
}

/** A running `palisade serve` child. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `bin/palisade serve` (from dist/, built by `npm run build`) on a free loopback port. */
export async function startServe(storeDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  await access(join(REPO_ROOT, 'dist/pipeline/cli/commands/serve.js')).catch(() => {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  });
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--store', storeDir, '--listen', `127.0.0.1:${port}`, '--poll-ms', '100', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/v1/bundles/latest`, child, 'palisade serve', () => err);
  return { url, child, stderr: () => err, stop: () => stopChild(child) };
}

/** Runs a Node ESM script in a child process; resolves with its exit code, signal and output. */
export function runNode(script: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<ChildResult> {
  return runChild(['--input-type=module', '-e', script, ...args], env);
}

/** How a child process ended. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runChild(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, nodeArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', rej);
    child.once('exit', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

/** `import` statement text for the compiled stores module, for child scripts. */
export const IMPORT_STORES = `import * as stores from ${JSON.stringify(join(REPO_ROOT, 'dist/pipeline/stores/index.js'))};`;

/** Runs `bin/palisade ARGS` (from dist/). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return runChild([CLI, ...args], env);
}

/** The policy template shipped in the repository: a real policy set to build bundles from. */
export const TEMPLATE_POLICIES = join(REPO_ROOT, 'policy-repo-template/policies');
export const TEMPLATE_FLOWS = join(REPO_ROOT, 'policy-repo-template/flows/recorded.json');

/**
 * A fresh tmpfs of `size` (mount(8) syntax, e.g. `512k`) and at most `inodes` files and directories, mounted on a
 * temp directory, for real ENOSPC and EROFS.
 * Needs root (these machines run the tests as root); `readOnly()` remounts it read-only; `remove()` unmounts it.
 */
export async function mountTmpfs(size: string, inodes?: number): Promise<{ path: string; readOnly(): Promise<void>; remove(): Promise<void> }> {
  const dir = await tempDir('tmpfs');
  const run = (args: string[]): Promise<void> => new Promise((res, rej) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', rej);
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });
  await run(['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0755${inodes === undefined ? '' : `,nr_inodes=${inodes}`}`, 'tmpfs', dir.path]);
  return {
    path: dir.path,
    readOnly: () => run(['mount', '-o', 'remount,ro', dir.path]),
    async remove() {
      await run(['umount', dir.path]);
      await dir.remove();
    },
  };
}

/** The StoreError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function storeErrorOf(p: Promise<unknown>): Promise<StoreError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof StoreError)) throw new Error(`expected a StoreError, got ${err === undefined ? 'success' : String(err)}`);
  return err;
}

/** Increments `{n}` in record `name` `times` times, re-reading after each conflict; returns how many conflicts it saw. */
export async function incrementRecord(store: RecordStore, name: string, times: number): Promise<number> {
  let conflicts = 0;
  for (let done = 0; done < times; ) {
    const cur = (await store.getRecord(name))!;
    try {
      await store.putRecord(name, { n: (cur.value as { n: number }).n + 1 }, cur.version);
      done++;
    } catch (err) {
      if ((err as { code?: string }).code !== 'store-conflict') throw err;
      conflicts++;
    }
  }
  return conflicts;
}
