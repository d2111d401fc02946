/**
 * `palisade serve --store DIR --listen ADDR [--token-file FILE] [--trust PREFIX.pub|ROOT.json…] [--max-upload-bytes N]
 * [--poll-ms N]`: serves a filesystem bundle store over HTTP. Uploads need the bearer token from --token-file or
 * PALISADE_STORE_TOKEN (without one, the server is read-only); an expired bundle is refused (422 bundle-expired)
 * even without --trust, since `latest` would then name a bundle every agent refuses; with --trust, an upload must
 * also pass the agents' verification gate (signatures, threshold, expiry, ABI), so a leaked token alone cannot plant
 * a bundle. SIGTERM or SIGINT stops it gracefully: no new connections, waiting long polls answered, uploads in
 * flight finished.
 *
 * With --webhook-secret-file F and --repo DIR it also receives GitHub webhooks at POST /github/webhook (signature
 * checked, deliveries run once from a bounded queue): pull requests are checked and reported (check run + comment,
 * credentials from GITHUB_TOKEN or a GitHub App, see pipeline/github/credentials.ts), and pushes to the main branch
 * are published to the served store when --key is given.
 */
import { UsageError } from '../../core/errors.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printLine } from '../output.js';
import { BundleError, verifyBundle } from '../../core/bundle/index.js';
import { readTrust } from '../../bundle-build/index.js';
import { FsBundleStore, FsRecordStore, loadStoreToken, peekBundle, readBundleSerial, startStoreServer } from '../../stores/index.js';
import { startWebhook, WEBHOOK_OPTIONS, WEBHOOK_USAGE, WEBHOOK_PATH } from '../webhook-setup.js';

const USAGE = `usage: palisade serve --store DIR --listen HOST:PORT [--token-file FILE] [--trust PREFIX.pub|ROOT.json…] [--max-upload-bytes N] [--poll-ms N]\n${WEBHOOK_USAGE}`;

/** Runs the command; resolves to the exit code once the server has stopped. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      store: { type: 'string' },
      listen: { type: 'string' },
      'token-file': { type: 'string' },
      trust: { type: 'string', multiple: true, default: [] },
      'max-upload-bytes': { type: 'string' },
      'poll-ms': { type: 'string' },
      ...WEBHOOK_OPTIONS,
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.store || !values.listen) throw new UsageError(`--store and --listen are required`, USAGE);
  const { host, port } = parseListen(values.listen);
  const token = await loadStoreToken(values['token-file']);
  const trustFiles = values.trust;
  // Read once at start so a bad trust file fails the start, not the first upload; expiry is checked per upload.
  if (trustFiles.length > 0) await readTrust(trustFiles, new Date());
  const checkUpload = async (bytes: Uint8Array): Promise<void> => {
    const now = new Date();
    // Cheap, and needs no trust root: an expired bundle as latest would freeze every agent on its last good one.
    const { expiresAt } = peekBundle(bytes);
    if (Date.parse(expiresAt) <= now.getTime()) throw new BundleError('bundle-expired', `the bundle expired at ${expiresAt}`);
    if (trustFiles.length === 0) return;
    let trust;
    try {
      trust = (await readTrust(trustFiles, now)).trust;
    } catch (err) {
      // The gate failing is not the upload's fault (and its message names our files): the server answers 503.
      throw new Error(`cannot load --trust: ${(err as Error).message}`, { cause: err });
    }
    await verifyBundle(bytes, { trust, now });
  };
  const store = new FsBundleStore(values.store);
  const server = await startStoreServer({
    store,
    records: new FsRecordStore(values.store),
    readSerial: readBundleSerial,
    token,
    checkUpload,
    ...(values['max-upload-bytes'] ? { maxUploadBytes: positiveInt(values['max-upload-bytes'], '--max-upload-bytes') } : {}),
    ...(values['poll-ms'] ? { pollMs: positiveInt(values['poll-ms'], '--poll-ms') } : {}),
    log: (line) => errorLine(`palisade serve: ${line}`),
  }, host, port);
  const mode = !token ? ' (read-only: no upload token)' : trustFiles.length > 0 ? ' (uploads verified against --trust)' : '';
  const webhook = await startWebhook(values, server.server, store, (line) => errorLine(`palisade serve: ${line}`));
  await printLine(`palisade serve: serving ${values.store} at ${server.url}${mode}${webhook ? `; GitHub webhooks at ${server.url}${WEBHOOK_PATH}` : ''}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      errorLine(`palisade serve: ${signal}, shutting down`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void Promise.all([server.close(), webhook?.close()]).then(() => resolve());
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  return 0;
}

/** `HOST:PORT`, `:PORT` (all interfaces) or `[IPv6]:PORT`. */
function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen must be HOST:PORT, :PORT or [IPv6]:PORT, got '${addr}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function positiveInt(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got '${s}'`);
  return n;
}
