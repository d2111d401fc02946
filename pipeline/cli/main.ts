/**
 * The `palisade` command line. Each command lives in its own module under ./commands and is imported only
 * when it runs, so start-up stays close to a bare `node` start.
 */
import { PalisadeError, UsageError, InputError, formatPos } from '../core/errors.js';

/** A command module: parses its own argv, returns the process exit code. */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

// Module paths are resolved at run time so that only the command that runs is loaded.
const commands: Record<string, { summary: string; module: string }> = {
  validate: { summary: 'check policy files and report errors with file:line:col', module: './commands/validate.js' },
  simulate: { summary: 'judge recorded Hubble flows under a policy set', module: './commands/simulate.js' },
  diff: { summary: 'show which recorded flows a change between two Git refs newly blocks or allows', module: './commands/diff.js' },
  keygen: { summary: 'create an ECDSA P-256 signing key pair', module: './commands/keygen.js' },
  compile: { summary: 'compile policies into one (signed) bundle file', module: './commands/compile.js' },
  verify: { summary: 'verify a bundle against a trust root', module: './commands/verify.js' },
  publish: { summary: 'compile, sign and publish a bundle to a store', module: './commands/publish.js' },
  serve: { summary: 'serve a bundle store over HTTP', module: './commands/serve.js' },
  demo: { summary: 'the quickstart: validate and simulate the embedded template repository', module: './commands/demo.js' },
};

const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: palisade <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n  --version  print the version\n  --help     this text\n`;
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`palisade ${VERSION} (Node.js ${process.version})\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`palisade: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = (await import(new URL(command.module, import.meta.url).href)) as CommandModule;
    return await mod.run(rest);
  } catch (err) {
    return reportError(err);
  }
}

/** Prints an error as one or two lines for a person; exit 2 for usage and I/O, 1 otherwise. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`palisade: ${err.message}\n`);
    return 2;
  }
  if (err instanceof InputError) {
    const where = formatPos(err.pos);
    process.stderr.write(`${where ? where + ': ' : ''}error: ${err.message} [${err.code}]\n`);
    return err.code.startsWith('io') ? 2 : 1;
  }
  if (err instanceof PalisadeError) {
    process.stderr.write(`palisade: ${err.message} [${err.code}]\n`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    process.stderr.write(`palisade: ${e.message}\n`);
    return 2;
  }
  // An unexpected bug: still no stack trace for the user unless asked for.
  process.stderr.write(`palisade: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.PALISADE_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return 70;
}
