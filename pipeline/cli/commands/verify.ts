/**
 * `palisade verify FILE --trust PREFIX.pub|ROOT.json [--trust NEWER_ROOT.json…] [--min-serial N] [--min-rollback-of R]`
 * — the agent's gate from the command line. `--min-serial N` accepts serial N and above (an agent passes the serial
 * it runs); a rollback bundle must revert serial `--min-rollback-of` (default N) or later. The `ok:` line names the
 * values to pass next time. Exit 0 and one `ok:` line for a good bundle; otherwise one line with the reason and
 * the exit code of that reason (see BUNDLE_ERROR_EXIT: 10 malformed … 20 ABI mismatch, 21/22 trust root). Nothing
 * is written anywhere.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UsageError } from '../../core/errors.js';
import { parseCommandArgs, parseIntegerOption } from '../command-args.js';
import { errorLine, printLine } from '../output.js';
import { BundleError, DEFAULT_MAX_BUNDLE_BYTES, PALISADE_ABI_VERSION, verifyBundleStream } from '../../core/bundle/index.js';
import { readTrust } from '../../bundle-build/keys-io.js';

const USAGE = 'usage: palisade verify FILE --trust PREFIX.pub|ROOT.json [--trust NEWER_ROOT.json…] [--min-serial N] [--min-rollback-of R] [--max-bytes N]';

/** Runs `palisade verify`. @returns 0 for a good bundle, the reason's exit code otherwise. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      trust: { type: 'string', multiple: true, default: [] },
      'min-serial': { type: 'string', default: '0' },
      'min-rollback-of': { type: 'string' },
      'max-bytes': { type: 'string', default: String(DEFAULT_MAX_BUNDLE_BYTES) },
    },
    USAGE,
    true,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || values.trust.length === 0) throw new UsageError('give one bundle FILE and at least one --trust', USAGE);
  const file = positionals[0]!;
  const minSerial = parseIntegerOption(values['min-serial'], '--min-serial')!;
  const minRollbackOf = parseIntegerOption(values['min-rollback-of'], '--min-rollback-of');
  const maxBytes = parseIntegerOption(values['max-bytes'], '--max-bytes', 1)!;

  const now = new Date();
  let trust;
  try {
    ({ trust } = await readTrust(values.trust, now));
  } catch (err) {
    // Trust errors name their own file; the bundle was not looked at.
    if (err instanceof BundleError) {
      errorLine(`palisade verify: ${err.message} [${err.code}]`);
      return err.exitCode;
    }
    throw err;
  }
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UsageError(`${file}: not a file`);
    const v = await verifyBundleStream(createReadStream(file, { highWaterMark: 256 * 1024 }), {
      trust,
      now,
      minSerial,
      ...(minRollbackOf !== undefined ? { minRollbackOf } : {}),
      maxBytes,
      abiVersions: [PALISADE_ABI_VERSION],
    });
    const m = v.manifest;
    const rollback = m.rollbackOf === null ? '' : `, rollback of serial ${m.rollbackOf}`;
    await printLine(
      `ok: serial ${m.serial}${rollback}, manifest ${v.manifestDigest}, signed by ${v.signers.length} of ${trust.threshold} required (${trust.description}), expires ${m.expiresAt}, next --min-serial ${v.nextMinSerial} --min-rollback-of ${v.nextMinRollbackOf}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof BundleError) {
      errorLine(`palisade verify: ${file}: ${err.message} [${err.code}]`);
      return err.exitCode;
    }
    throw err;
  }
}
