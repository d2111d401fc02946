/**
 * The processes the demo starts (the store, the controller, the agents, the pods): each with its output appended
 * to a log file of the run, known by a name, stopped with SIGTERM (then SIGKILL), and watched: one that exits while
 * the demo still needs it is reported with the end of its log instead of leaving the demo waiting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { escapeUntrusted } from '../core/text/index.js';
import { DemoError } from './errors.js';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Lines of stdout, as they come (for readiness and results). */
  onLine(listener: (line: string) => void): void;
}

/** The running processes of one demo. */
export class ProcessGroup {
  readonly #running = new Map<string, { started: Started; log: WriteStream }>();
  #stopping = false;
  /** A process exited on its own: the first one, with the end of its log. */
  #failure: DemoError | undefined;

  constructor(private readonly logDir: string) {}

  /** Starts `command` as `name`; stdout lines reach `onLine` listeners, and both streams go to `<logDir>/<name>.log`. */
  start(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Started {
    const logFile = `${this.logDir}/${name}.log`;
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    const listeners: ((line: string) => void)[] = [];
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      log.write(d);
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) for (const l of listeners) l(line);
    });
    child.stderr!.on('data', (d: Buffer) => log.write(d));
    const started: Started = { name, child, logFile, onLine: (l) => listeners.push(l) };
    child.on('error', (err) => this.#failed(name, `could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (!this.#stopping) void this.#exitedEarly(name, logFile, code, signal);
    });
    this.#running.set(name, { started, log });
    return started;
  }

  /** Throws the first failure of a process that exited on its own (call it while waiting). */
  check(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Resolves once `started` prints a line matching `ready`; rejects when it exits first or after `ms`. */
  ready(started: Started, ready: RegExp, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new DemoError('demo-timeout', `${started.name} did not get ready within ${ms / 1000} s (log: ${started.logFile})`)), ms);
      started.onLine((line) => {
        if (ready.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      started.child.once('exit', () => {
        clearTimeout(timer);
        reject(this.#failure ?? new DemoError('demo-process-failed', `${started.name} exited before it was ready (log: ${started.logFile})`));
      });
    });
  }

  /** Stops one process (SIGTERM, SIGKILL after `graceMs`). */
  async stop(name: string, graceMs = 3000): Promise<void> {
    const entry = this.#running.get(name);
    if (!entry) return;
    this.#running.delete(name);
    await terminate(entry.started.child, graceMs);
    await new Promise<void>((r) => entry.log.end(r));
  }

  /** Stops every process, in reverse order of start. Never throws. */
  async stopAll(graceMs = 3000): Promise<void> {
    this.#stopping = true;
    for (const name of [...this.#running.keys()].reverse()) await this.stop(name, graceMs).catch(() => undefined);
  }

  /** Names of processes still running (none after stopAll). */
  alive(): string[] {
    return [...this.#running.values()].filter((e) => e.started.child.exitCode === null && e.started.child.signalCode === null).map((e) => e.started.name);
  }

  #failed(name: string, why: string): void {
    this.#failure ??= new DemoError('demo-process-failed', `${name} ${why}`);
  }

  async #exitedEarly(name: string, logFile: string, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    this.#failed(name, `exited (${signal ?? `code ${code}`}): ${escapeUntrusted(tail.slice(-600))}`);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
