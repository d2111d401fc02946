/**
 * The `palisade` command line. Each command lives in its own module under ./commands and is imported only
 * when it runs, so start-up stays close to a bare `node` start.
 */
import { PalisadeError, UsageError, InputError, formatPos } from '../core/errors.js';
import { EXIT_OUTPUT_FAILED, OutputError } from './errors.js';
import { errorLine, errorUsage, finishOutput, guardOutput, printText, stdoutFailed } from './output.js';

/** A command module: parses its own argv, returns the process exit code. */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

// Module paths are resolved at run time so that only the command that runs is loaded.
const commands: Record<string, { summary: string; module: string }> = {
  validate: { summary: 'check policy files and report errors with file:line:col', module: './commands/validate.js' },
  simulate: { summary: 'judge recorded Hubble flows under a policy set', module: './commands/simulate.js' },
  diff: { summary: 'show which recorded flows a change between two Git refs newly blocks or allows', module: './commands/diff.js' },
  check: { summary: 'what the pull-request check says about a change between two Git refs (gate from palisade.yaml)', module: './commands/check.js' },
  keygen: { summary: 'create an ECDSA P-256 signing key pair', module: './commands/keygen.js' },
  compile: { summary: 'compile policies into one (signed) bundle file', module: './commands/compile.js' },
  verify: { summary: 'verify a bundle against a trust root', module: './commands/verify.js' },
  publish: { summary: 'compile, sign and publish a bundle to a store', module: './commands/publish.js' },
  serve: { summary: 'serve a bundle store over HTTP (and receive GitHub webhooks)', module: './commands/serve.js' },
  watch: { summary: 'follow a branch and publish each new commit in order', module: './commands/watch.js' },
  rollout: { summary: 'roll bundles out to nodes in health-gated waves: controller, status, pause, resume, promote, abort', module: './commands/rollout.js' },
  demo: { summary: 'the quickstart: validate and simulate the embedded template repository', module: './commands/demo.js' },
};

const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: palisade <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n  --version  print the version\n  --help     this text\n`;
}

/**
 * Runs the CLI; resolves to the exit code. Never throws. A command whose stdout could not be written exits
 * EXIT_OUTPUT_FAILED (74) whatever it returned or threw (see ./output.ts).
 */
export async function main(argv: string[]): Promise<number> {
  guardOutput();
  let code: number;
  try {
    code = await dispatch(argv);
  } catch (err) {
    // After stdout failed, what the command threw is a consequence; finishOutput reports the cause.
    code = stdoutFailed() ? 0 : reportError(err);
  }
  return finishOutput(code);
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    await printText(`palisade ${VERSION} (Node.js ${process.version})\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await printText(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    errorLine(`palisade: unknown command '${name}'`);
    errorUsage(`\n${usage()}`);
    return 2;
  }
  const mod = (await import(new URL(command.module, import.meta.url).href)) as CommandModule;
  return await mod.run(rest);
}

/** The exit code of an error's kind: usage and local I/O 2, everything else 1 (never chosen by the code's spelling). */
export function exitCodeOf(err: PalisadeError): number {
  return err.kind === 'usage' || err.kind === 'io' ? 2 : 1;
}

/**
 * Prints an error as one line for a person (a usage error adds the command's usage); exit 2 for usage and I/O,
 * 1 otherwise, 70 for a bug.
 */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    errorLine(`palisade: ${err.message}`);
    if (err.usage !== undefined) errorUsage(err.usage);
    return 2;
  }
  if (err instanceof InputError) {
    const where = formatPos(err.pos);
    errorLine(`${where ? where + ': ' : ''}error: ${err.message} [${err.code}]`);
    return exitCodeOf(err);
  }
  if (err instanceof OutputError) {
    // Thrown out of finishOutput's reach (a command run in-process): same line, same code.
    if (err.errno !== 'EPIPE') errorLine(`palisade: ${err.message} [${err.code}]`);
    return EXIT_OUTPUT_FAILED;
  }
  if (err instanceof PalisadeError) {
    errorLine(`palisade: ${err.message} [${err.code}]`);
    return exitCodeOf(err);
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    errorLine(`palisade: ${e.message}`);
    return 2;
  }
  // An unexpected bug: still no stack trace for the user unless asked for.
  errorLine(`palisade: internal error: ${e?.message ?? String(err)}`);
  if (process.env.PALISADE_DEBUG) for (const line of (e?.stack ?? '').split('\n')) errorLine(line);
  return 70;
}
