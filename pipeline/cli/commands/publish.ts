/**
 * `palisade publish --policies DIR --store URL --key PREFIX.key [--key …] [--flows FILE…] [--inventory FILE…]
 * [--token-file FILE] [--expires DURATION | --expires-in DURATION | --expires-at TIME] [--min-validity DURATION]
 * [--bpf-object FILE]`: builds a signed bundle from a policy directory with serial = the store's latest serial + 1
 * and parent = the latest bundle's manifest, and publishes it with compare-and-swap on that serial. When another
 * publisher got there first, it rebuilds once on the new latest and tries again. A bundle that would be expired, or
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
import type { BuiltBundle } from '../../bundle-build/index.js';
import { StoreError, loadStoreToken, ociCredentialsFromEnv, openStore, peekBundle } from '../../stores/index.js';
import type { BundleDescriptor, BundleStore } from '../../stores/index.js';

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

  const build = async (latest: BundleDescriptor | undefined): Promise<BuiltBundle> => buildBundleFromDir({
    policiesDir: values.policies!,
    flowFiles: values.flows,
    inventoryFiles: values.inventory,
    keys,
    ...validity,
    env: process.env,
    serial: (latest?.serial ?? 0) + 1,
    parentDigest: latest ? await parentManifestDigest(store, latest) : null,
    ...(values['bpf-object'] !== undefined ? { bpfObjectPath: values['bpf-object'] } : {}),
  });

  let latest = await store.latest();
  for (let attempt = 0; ; attempt++) {
    let built: BuiltBundle;
    try {
      built = await build(latest);
    } catch (err) {
      if (err instanceof BundleExpiryError) {
        errorLine(`palisade publish: ${err.message}; nothing published [${err.code}]`);
        return EXIT_EXPIRED;
      }
      if (!(err instanceof PolicyErrorsError)) throw err;
      for (const d of err.diagnostics) errorLine(formatDiagnostic(d));
      errorLine(`palisade publish: ${err.diagnostics.length} error(s) in the policies; nothing published`);
      return 1;
    }
    const serial = built.manifest.serial;
    try {
      const d = await store.publish({ serial, bytes: built.bytes }, { expectLatestSerial: latest?.serial ?? 0 });
      await printLine(
        `published serial ${d.serial} to ${store.location}: bundle ${d.digest}, ${d.size} bytes, manifest ${built.manifestDigest}, ` +
          `${built.policies} policies, signed by ${built.signers.map((k) => k.slice(0, 12)).join(', ')}, expires ${built.manifest.expiresAt}`,
      );
      return 0;
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'store-conflict') throw err;
      if (attempt >= 1) {
        errorLine(`palisade publish: ${err.message}; gave up after a rebuild [store-conflict]`);
        return EXIT_CONFLICT;
      }
      latest = err.current ?? (await store.latest());
      errorLine(`palisade publish: serial ${serial} was taken by another publisher (latest is now ${latest?.serial ?? 0}); rebuilding`);
    }
  }
}

/** The manifest digest of the store's latest bundle, the new bundle's `parentDigest`. */
async function parentManifestDigest(store: BundleStore, latest: BundleDescriptor): Promise<string> {
  const bytes = await store.get(latest.digest, { expectedSize: latest.size });
  try {
    return peekBundle(bytes).manifestDigest;
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw new StoreError('store-corrupt', `${store.location}: the latest bundle (serial ${latest.serial}) cannot be read as a parent: ${err.message}`, { cause: err });
  }
}
