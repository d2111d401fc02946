/**
 * The option parsing every command shares: node:util `parseArgs` in strict mode plus `--help`/`-h`, with a parse
 * error turned into a UsageError (exit 2) that ends with the command's usage text.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses `argv` against `options` (help is added).
 * @returns the parsed values and positionals, or null after printing `usage` for `--help`.
 * @throws UsageError for an unknown option, a missing value, or a positional where none is allowed.
 */
export function parseCommandArgs<const O extends OptionsConfig, const P extends boolean = false>(
  argv: string[],
  options: O,
  usage: string,
  allowPositionals?: P,
) {
  const config = { args: argv, options: { ...options, ...HELP }, strict: true as const, allowPositionals: (allowPositionals ?? false) as P };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${usage}\n`);
    return null;
  }
  return parsed;
}
