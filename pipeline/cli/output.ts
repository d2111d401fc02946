/**
 * The command line's only door to standard output and standard error.
 *
 * Escaping: every one-line message (errors, diagnostics, `ok:`/`wrote` lines) goes through `escapeUntrusted` here,
 * at the sink. Error constructors escape what they quote already (PalisadeError), and the function is idempotent,
 * so this second pass never doubles an escape; it is the last line of defence for text that never went through a
 * PalisadeError (a Node error's message, a diagnostic, a path from argv). Structured multi-line output (JSON,
 * markdown, tables, jsonl, usage) is written as it is: JSON.stringify escapes its strings, and the reports escape
 * the cells that quote input where they build them.
 *
 * Failures: a failed write to stdout (a closed pipe, a full disk) is remembered, makes the next write throw
 * OutputError, and `finishOutput` turns it into the exit code EXIT_OUTPUT_FAILED, with one line on stderr (none
 * for EPIPE: the reader went away on purpose). A failed write to stderr is remembered and otherwise ignored: there
 * is nowhere left to say it, and the command's exit code (a rejection, say) must stand.
 */
import { escapeUntrusted } from '../core/text/index.js';
import { EXIT_OUTPUT_FAILED, OutputError } from './errors.js';

type Channel = 'stdout' | 'stderr';

const failures: Partial<Record<Channel, NodeJS.ErrnoException>> = {};
const guarded = new Set<Channel>();
/** Whether anything was handed to stdout: only then is there something to wait for (an empty write to a closed pipe fails too). */
let stdoutUsed = false;

function streamOf(channel: Channel): NodeJS.WriteStream {
  return channel === 'stdout' ? process.stdout : process.stderr;
}

function record(channel: Channel, err: Error): void {
  failures[channel] ??= err as NodeJS.ErrnoException;
}

/** The first failure of a channel, also when the stream has failed but not yet emitted 'error'. */
function failureOf(channel: Channel): NodeJS.ErrnoException | undefined {
  const errored = streamOf(channel).errored;
  if (errored) record(channel, errored);
  return failures[channel];
}

/**
 * Listens for 'error' on stdout and stderr, so that a failed write is remembered instead of crashing the process
 * with a stack trace. Idempotent; main() calls it first, and every write here calls it too.
 */
export function guardOutput(): void {
  for (const channel of ['stdout', 'stderr'] as const) {
    if (guarded.has(channel)) continue;
    guarded.add(channel);
    streamOf(channel).on('error', (err: Error) => record(channel, err));
  }
}

/**
 * Writes `chunk` to stdout: resolves at once when the stream took it, or once it has been written when the stream
 * was full (back-pressure).
 * @throws OutputError when stdout failed, now or on an earlier write.
 */
async function writeStdout(chunk: string | Uint8Array): Promise<void> {
  guardOutput();
  const before = failureOf('stdout');
  if (before) throw new OutputError(before);
  stdoutUsed = true;
  let finish!: (err: Error | null | undefined) => void;
  const written = new Promise<void>((resolve, reject) => {
    finish = (err) => {
      if (!err) return resolve();
      record('stdout', err);
      reject(new OutputError(failureOf('stdout') ?? err));
    };
  });
  if (streamOf('stdout').write(chunk, finish)) {
    // Taken: a later failure is remembered by the 'error' listener and reported by the next write or finishOutput.
    written.catch(() => undefined);
    return;
  }
  await written;
}

/**
 * Standard output as a stream, for a writer with its own back-pressure (the simulation's TextSink), with the
 * failure listener in place: a failed write is then reported by finishOutput like any other.
 */
export function guardedStdout(): NodeJS.WriteStream {
  guardOutput();
  stdoutUsed = true;
  return process.stdout;
}

/**
 * Writes structured output to stdout as it is (JSON, jsonl, markdown, a table, a report): the caller has escaped
 * the input it quotes. @throws OutputError.
 */
export function printText(text: string | Uint8Array): Promise<void> {
  return writeStdout(text);
}

/** Writes one line to stdout with untrusted characters escaped (and the newline added). @throws OutputError. */
export function printLine(line: string): Promise<void> {
  return writeStdout(`${escapeUntrusted(line)}\n`);
}

/**
 * Writes text Palisade wrote itself (usage, help) to stdout, for a caller that cannot wait: a failure is remembered
 * and reported by finishOutput. Never throws.
 */
export function queueText(text: string): void {
  writeStdout(text).catch(() => undefined);
}

function writeStderr(text: string): void {
  guardOutput();
  if (failureOf('stderr')) return;
  try {
    streamOf('stderr').write(text, (err) => {
      if (err) record('stderr', err);
    });
  } catch (err) {
    record('stderr', err as Error);
  }
}

/** Writes one message line to stderr with untrusted characters escaped (and the newline added). Never throws. */
export function errorLine(line: string): void {
  writeStderr(`${escapeUntrusted(line)}\n`);
}

/** Writes text Palisade wrote itself (a command's usage) to stderr as it is. Never throws. */
export function errorUsage(text: string): void {
  writeStderr(text.endsWith('\n') ? text : `${text}\n`);
}

/** True when stdout has failed (the reason the command stopped, whatever it threw). */
export function stdoutFailed(): boolean {
  return failureOf('stdout') !== undefined;
}

/**
 * Waits until everything written to stdout has reached the system (or failed), then turns a failure into the exit
 * code: EXIT_OUTPUT_FAILED, with one line on stderr unless the reader closed the pipe (EPIPE).
 * @param code the command's own exit code, returned when stdout is fine.
 */
export async function finishOutput(code: number): Promise<number> {
  guardOutput();
  if (stdoutUsed && !failureOf('stdout')) {
    // An empty write completes after every write before it: a barrier that also sees a late error.
    await new Promise<void>((resolve) => {
      streamOf('stdout').write('', (err) => {
        if (err) record('stdout', err);
        resolve();
      });
    });
  }
  const failure = failureOf('stdout');
  if (!failure) return code;
  if (failure.code !== 'EPIPE') errorLine(`palisade: ${new OutputError(failure).message} [output-failed]`);
  return EXIT_OUTPUT_FAILED;
}
