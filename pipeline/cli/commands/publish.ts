/**
 * `palisade publish --policies DIR --store URL --key PREFIX.key [--key …] [--flows FILE…] [--inventory FILE…]
 * [--token-file FILE] [--expires DURATION | --expires-in DURATION | --expires-at TIME] [--min-validity DURATION]
 * [--bpf-object FILE]`: builds a signed bundle from a policy directory with serial = the store's latest serial + 1
 * and parent = the latest bundle's manifest, and publishes it with compare-and-swap on that serial. When another
 * publisher got there first, it rebuilds once on the new latest and tries again (the publish stage of
 * pipeline/handlers, which the webhook and `watch` run too). A bundle that would be expired, or
 * valid for less than --min-validity (default 3 days), when published is refused before it is composed or anything
 * is uploaded (its validity counts from the commit time; see bundle-build/validity.ts). The store URL is a directory,
 * `file://…`, `http(s)://…` (`palisade serve`; the upload token comes from --token-file or PALISADE_STORE_TOKEN)
 * or `oci://host[:port]/repository` (registry login from PALISADE_OCI_USERNAME and PALISADE_OCI_PASSWORD, used for
 * the registry's token service or Basic auth).
 *
 * Exit codes: 0 published; 1 policy errors (nothing built) or another error; 2 usage; 3 lost the serial race twice;
 * 4 the bundle would be expired or expire within --min-validity (nothing published).
 */
import { UsageError } from '../../core/errors.js';
import { formatDiagnostic } from '../../core/validate/diagnostic.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printLine } from '../output.js';
import { buildBundleFromDir, BundleExpiryError, PolicyErrorsError, readSigningKeys, SIGNING_KEY_ENV } from '../../bundle-build/index.js';
import { VALIDITY_OPTIONS, VALIDITY_USAGE, parseValidityArgs } from '../validity-args.js';
import { loadStoreToken, ociCredentialsFromEnv, openStore } from '../../stores/index.js';
import { HandlerError, publishBundle } from '../../handlers/index.js';

const USAGE =
  'usage: palisade publish --policies DIR --store URL --key PREFIX.key [--key…] [--flows FILE…] [--inventory FILE…]\n' +
  `                        [--token-file FILE] ${VALIDITY_USAGE} [--bpf-object FILE]`;

/** Exit code when the serial was taken by concurrent publishers on both attempts. */
const EXIT_CONFLICT = 3;
/** Exit code when the bundle would be expired, or valid for less than --min-validity, at publish time. */
const EXIT_EXPIRED = 4;

/** Runs `palisade publish`. @returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      policies: { type: 'string' },
      store: { type: 'string' },
      key: { type: 'string', multiple: true, default: [] },
      flows: { type: 'string', multiple: true, default: [] },
      inventory: { type: 'string', multiple: true, default: [] },
      'token-file': { type: 'string' },
      ...VALIDITY_OPTIONS,
      'bpf-object': { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.policies || !values.store) throw new UsageError(`--policies and --store are required`, USAGE);
  const validity = parseValidityArgs(values, new Date());
  const keys = await readSigningKeys(values.key, process.env);
  // Stores only carry signed bundles: agents would refuse an unsigned one anyway.
  if (keys.length === 0) throw new UsageError(`publish needs a signing key: --key PREFIX.key or $${SIGNING_KEY_ENV}`, USAGE);
  const store = openStore(values.store, { token: await loadStoreToken(values['token-file']), ociCredentials: ociCredentialsFromEnv() });

  let outcome;
  try {
    outcome = await publishBundle({
      store,
      build: async ({ serial, parentDigest }) => buildBundleFromDir({
        policiesDir: values.policies!,
        flowFiles: values.flows,
        inventoryFiles: values.inventory,
        keys,
        ...validity,
        env: process.env,
        serial,
        parentDigest,
        ...(values['bpf-object'] !== undefined ? { bpfObjectPath: values['bpf-object'] } : {}),
      }),
      log: (line) => errorLine(`palisade publish: ${line}`),
    });
  } catch (err) {
    if (err instanceof BundleExpiryError) {
      errorLine(`palisade publish: ${err.message}; nothing published [${err.code}]`);
      return EXIT_EXPIRED;
    }
    if (err instanceof PolicyErrorsError) {
      for (const d of err.diagnostics) errorLine(formatDiagnostic(d));
      errorLine(`palisade publish: ${err.diagnostics.length} error(s) in the policies; nothing published`);
      return 1;
    }
    if (err instanceof HandlerError && err.code === 'publish-conflict') {
      errorLine(`palisade publish: ${err.message} [store-conflict]`);
      return EXIT_CONFLICT;
    }
    throw err;
  }
  // Without a commit to compare (none is passed here) every run publishes; the other outcomes are the handlers'.
  if (outcome.kind !== 'published') {
    await printLine(`nothing published: ${store.location} already has commit ${outcome.latest.commit} (serial ${outcome.latest.descriptor.serial})`);
    return 0;
  }
  const { descriptor: d, built } = outcome;
  await printLine(
    `published serial ${d.serial} to ${store.location}: bundle ${d.digest}, ${d.size} bytes, manifest ${built.manifestDigest}, ` +
      `${built.policies} policies, signed by ${built.signers.map((k) => k.slice(0, 12)).join(', ')}, expires ${built.manifest.expiresAt}`,
  );
  return 0;
}
