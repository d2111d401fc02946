/**
 * `palisade compile --policies DIR --out FILE [--key PREFIX.key…] [--flows FILE…] [--inventory FILE…] [--serial N]
 * [--expires DURATION | --expires-in DURATION | --expires-at TIME] [--min-validity DURATION] [--created-at TIME]
 * [--parent-digest sha256:…] [--rollback-of N] [--bpf-object FILE]` writes one self-contained bundle file: signed
 * by every `--key` (and by $PALISADE_SIGNING_KEY when set), unsigned otherwise. Policies with errors are refused
 * with every error listed and nothing written. The file appears atomically (written beside it, then renamed), and only over a regular file or a new name: a
 * device, FIFO, socket or directory (or a symlink to one) is refused, untouched. A
 * bundle that is expired, or valid for less than --min-validity, is still written (rebuilding an old commit
 * reproducibly is legitimate) but with a WARNING line on stderr naming its expiry.
 */
import { UsageError } from '../../core/errors.js';
import { formatDiagnostic } from '../../core/validate/diagnostic.js';
import { parseCommandArgs, parseIntegerOption } from '../command-args.js';
import { errorLine, printLine } from '../output.js';
import { isSha256Digest } from '../../core/bundle/index.js';
import { buildBundleFromDir, PolicyErrorsError, readSigningKeys, validityProblem } from '../../bundle-build/index.js';
import { writeFileAtomic } from '../../stores/index.js';
import { VALIDITY_OPTIONS, VALIDITY_USAGE, parseRfc3339, parseValidityArgs } from '../validity-args.js';

const USAGE =
  'usage: palisade compile --policies DIR --out FILE [--key PREFIX.key…] [--flows FILE…] [--inventory FILE…] [--serial N]\n' +
  `                        ${VALIDITY_USAGE}\n` +
  '                        [--created-at TIME] [--parent-digest sha256:HEX] [--rollback-of N] [--bpf-object FILE]';

/** Runs `palisade compile`. @returns 0 when the bundle was written, 1 when the policies have errors. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      policies: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string', multiple: true, default: [] },
      flows: { type: 'string', multiple: true, default: [] },
      inventory: { type: 'string', multiple: true, default: [] },
      serial: { type: 'string' },
      ...VALIDITY_OPTIONS,
      'created-at': { type: 'string' },
      'parent-digest': { type: 'string' },
      'rollback-of': { type: 'string' },
      'bpf-object': { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.policies || !values.out) throw new UsageError(`--policies and --out are required`, USAGE);
  const serial = parseIntegerOption(values.serial, '--serial');
  const rollbackOf = parseIntegerOption(values['rollback-of'], '--rollback-of');
  const createdAt = values['created-at'] === undefined ? undefined : parseRfc3339(values['created-at'], '--created-at');
  const { minValidityMs, ...validity } = parseValidityArgs(values, new Date());
  const parentDigest = values['parent-digest'];
  if (parentDigest !== undefined && !isSha256Digest(parentDigest)) throw new UsageError('--parent-digest must be sha256:<64 hex digits>');
  const keys = await readSigningKeys(values.key, process.env);

  let built;
  try {
    built = await buildBundleFromDir({
      policiesDir: values.policies,
      flowFiles: values.flows,
      inventoryFiles: values.inventory,
      keys,
      ...validity,
      env: process.env,
      ...(values['bpf-object'] !== undefined ? { bpfObjectPath: values['bpf-object'] } : {}),
      ...(serial !== undefined ? { serial } : {}),
      ...(rollbackOf !== undefined ? { rollbackOf } : {}),
      ...(createdAt ? { createdAt } : {}),
      ...(parentDigest !== undefined ? { parentDigest } : {}),
    });
  } catch (err) {
    if (!(err instanceof PolicyErrorsError)) throw err;
    for (const d of err.diagnostics) errorLine(formatDiagnostic(d));
    errorLine(`palisade compile: ${err.diagnostics.length} error(s) in the policies; no bundle written`);
    return 1;
  }

  // Written all the same (a reproducible rebuild of an old commit is legitimate), but nobody should miss it.
  const stale = validityProblem(built.validity, new Date(), minValidityMs);
  if (stale) errorLine(`palisade compile: WARNING: ${stale.message} [${stale.code}]`);

  const out = values.out;
  await writeFileAtomic({ path: out, bytes: built.bytes, mode: 0o644 }, { overwrite: true });
  if (built.signers.length === 0) errorLine('palisade compile: note: the bundle is unsigned; agents accept only bundles signed by their trust root');
  const m = built.manifest;
  const signed = built.signers.length === 0 ? 'unsigned' : `signed by ${built.signers.map((k) => k.slice(0, 12)).join(', ')}`;
  await printLine(
    `wrote ${out}: serial ${m.serial}, manifest ${built.manifestDigest}, ${built.bytes.byteLength} bytes, ${built.policies} policies, ` +
      `${built.probes.recorded + built.probes.generated} probes (${built.probes.recorded} recorded, ${built.probes.generated} generated; ${built.probes.judged} flows judged), ` +
      `components ${m.components.map((c) => c.name).join(' ')}, ${signed}, expires ${m.expiresAt}`,
  );
  return 0;
}
