/**
 * `palisade compile --policies DIR --out FILE [--key PREFIX.key…] [--flows FILE…] [--inventory FILE…] [--serial N]
 * [--expires DURATION] [--created-at TIME] [--parent-digest sha256:…] [--rollback-of N] [--bpf-object FILE]`
 * writes one self-contained bundle file: signed by every `--key` (and by $PALISADE_SIGNING_KEY when set), unsigned
 * otherwise. Policies with errors are refused with every error listed and nothing written. The file appears
 * atomically (written beside it, then renamed), and only over a regular file or a new name: a device, FIFO,
 * socket or directory (or a symlink to one) is refused, untouched.
 */
import { UsageError } from '../../core/errors.js';
import { formatDiagnostic } from '../../core/validate/diagnostic.js';
import { parseCommandArgs, parseIntegerOption } from '../command-args.js';
import { errorLine, printLine } from '../output.js';
import { isSha256Digest } from '../../core/bundle/index.js';
import { buildBundleFromDir, parseDuration, PolicyErrorsError, readSigningKeys } from '../../bundle-build/index.js';
import { writeFileAtomic } from '../../stores/index.js';

const USAGE =
  'usage: palisade compile --policies DIR --out FILE [--key PREFIX.key…] [--flows FILE…] [--inventory FILE…] [--serial N]\n' +
  '                        [--expires DURATION] [--created-at TIME] [--parent-digest sha256:HEX] [--rollback-of N] [--bpf-object FILE]';

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
      expires: { type: 'string', default: '30d' },
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
  const createdAt = values['created-at'] === undefined ? undefined : parseTime(values['created-at']);
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
      lifetimeMs: parseDuration(values.expires),
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

function parseTime(text: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime())) throw new UsageError(`--created-at must be an RFC 3339 time`);
  return d;
}
