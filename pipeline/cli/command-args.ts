/**
 * The option parsing every command shares: node:util `parseArgs` in strict mode plus `--help`/`-h`, with a parse
 * error turned into a UsageError (exit 2) that ends with the command's usage text.
 *
 * List options (`multiple: true`) take every plain argument that follows them, so `--flows a.json b.json` and
 * `--flows a.json --flows b.json` mean the same, as the usage texts' `FILE…` promise. That holds for commands
 * without positionals of their own; where a command takes positionals, a list option takes one value per flag.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';
import { queueText } from './output.js';

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
  const config = { args: argv, options: { ...options, ...HELP }, strict: true as const, allowPositionals: true, tokens: true as const };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    queueText(`${usage}\n`);
    return null;
  }
  if (!allowPositionals) {
    // Plain arguments continue the list option before them; anywhere else they are a mistake.
    const values = parsed.values as Record<string, unknown>;
    // Own copies: parseArgs may hand out the `default` arrays themselves.
    for (const [name, option] of Object.entries(options)) {
      if (option.multiple) values[name] = [...((values[name] as string[] | undefined) ?? [])];
    }
    let list: string[] | null = null;
    for (const token of parsed.tokens) {
      if (token.kind === 'option') {
        list = options[token.name]?.multiple ? (values[token.name] as string[]) : null;
      } else if (token.kind === 'positional') {
        if (!list) throw new UsageError(`unexpected argument '${token.value}'`, usage);
        list.push(token.value);
      } else {
        list = null;
      }
    }
    parsed.positionals.length = 0;
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** An integer option: decimal digits only, at most 15 of them (every such value is a safe integer). */
const INTEGER_RE = /^[0-9]{1,15}$/;

/**
 * Parses an integer option strictly: ASCII decimal digits only (no sign, spaces, `0x`, exponent or fraction), at
 * most 15 of them, and at least `min`.
 * @returns the value, or undefined when the option was not given.
 * @throws UsageError naming `flag` for anything else.
 */
export function parseIntegerOption(text: string | undefined, flag: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!INTEGER_RE.test(text) || n < min) {
    throw new UsageError(`${flag} must be a decimal integer of at least ${min}, in digits only (got ${JSON.stringify(text)})`);
  }
  return n;
}
