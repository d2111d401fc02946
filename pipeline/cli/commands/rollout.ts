/**
 * `palisade rollout SUBCOMMAND`: automatic node rollout over the embedded backend (records in the bundle store).
 *
 *   controller --store URL --trust PUB|ROOT… --key KEY… [--config palisade.yaml] [--prometheus URL] [--interval D]
 *              runs the controller until SIGTERM/SIGINT: each new bundle goes out wave by wave, a failing gate aborts
 *              and sends the nodes it reached to a rollback bundle (made with --key, checked with --trust)
 *   status     --store URL [--config palisade.yaml] [--format table|json]
 *   pause|resume|promote|abort --store URL [--reason TEXT] [--config palisade.yaml]
 *
 * The store URL is a directory, `file://…`, `http(s)://…` (`palisade serve`; writes need the token from
 * --token-file or PALISADE_STORE_TOKEN) or `oci://host/repository` (records as tags; one controller at a time,
 * see stores/oci-records.ts; registry credentials from PALISADE_OCI_USERNAME/PASSWORD). With `--kubeconfig FILE
 * [--namespace NS]` the rollout state and the node records are PolicyRollout and PolicyNode objects of that cluster
 * instead (the bundles stay in --store, which only the controller needs), and the controller acts only while it
 * holds the namespace's Lease. Exit codes: 0 done; 1 the command does not apply (e.g. resume of a completed
 * rollout) or the store failed; 2 usage or a bad --config.
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../../core/errors.js';
import { formatDiagnostic } from '../../core/validate/diagnostic.js';
import { readSigningKeys, readTrust } from '../../bundle-build/index.js';
import {
  DEFAULT_ROLLOUT_SPEC,
  ROLLOUT_RECORD,
  RolloutController,
  RolloutError,
  RolloutSpecError,
  describeEvent,
  operateRollout,
  parseDuration,
  parseRolloutState,
  readFleet,
  readTargets,
  readRolloutSpecFile,
  renderStatus,
  rollbackMaker,
  type RolloutSpec,
} from '../../rollout/index.js';
import { policyRolloutView, runElectedController } from '../../rollout/kubernetes/index.js';
import { DEFAULT_KUBE_NAMESPACE, KubernetesRecordStore, loadKubeConfig, loadStoreToken, ociCredentialsFromEnv, openRecordStore, openStore, StoreError, type BundleStore, type RecordStore, type UnlistedBundleStore } from '../../stores/index.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printLine, printText } from '../output.js';

const USAGE = `usage: palisade rollout controller --store URL --trust PUB|ROOT.json… --key KEY… [--config palisade.yaml] [--prometheus URL] [--interval 2s] [--token-file FILE]
                                  [--kubeconfig FILE|in-cluster [--namespace NS] [--identity ID]]
       palisade rollout status --store URL|--kubeconfig FILE [--namespace NS] [--config palisade.yaml] [--format table|json]
       palisade rollout pause|resume|promote|abort --store URL|--kubeconfig FILE [--namespace NS] [--reason TEXT] [--config palisade.yaml] [--token-file FILE]`;



/** Runs `palisade rollout …`. @returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    await printLine(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (!['controller', 'status', 'pause', 'resume', 'promote', 'abort'].includes(sub)) throw new UsageError(`unknown rollout subcommand '${sub}'`, USAGE);
  const parsed = parseCommandArgs(
    rest,
    {
      store: { type: 'string' },
      config: { type: 'string' },
      'token-file': { type: 'string' },
      trust: { type: 'string', multiple: true, default: [] },
      key: { type: 'string', multiple: true, default: [] },
      prometheus: { type: 'string' },
      interval: { type: 'string' },
      format: { type: 'string' },
      reason: { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      identity: { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.store && (sub === 'controller' || values.kubeconfig === undefined)) throw new UsageError(sub === 'controller' ? '--store is required (the bundles)' : 'give --store URL or --kubeconfig FILE', USAGE);
  if (values.kubeconfig === undefined && (values.namespace !== undefined || values.identity !== undefined)) throw new UsageError('--namespace and --identity go with --kubeconfig', USAGE);
  const spec = await loadSpec(values.config);
  if (spec === undefined) return 2;
  const token = await loadStoreToken(values['token-file']);
  const kube = values.kubeconfig === undefined ? undefined : { kubeConfig: kubeConfigOf(values.kubeconfig), namespace: values.namespace ?? DEFAULT_KUBE_NAMESPACE };
  const records: RecordStore = kube ? new KubernetesRecordStore({ ...kube, view: policyRolloutView(spec) }) : openRecordStore(values.store!, { token, ociCredentials: ociCredentialsFromEnv() });
  try {
    switch (sub) {
      case 'status':
        return await status(records, spec, values.format ?? 'table');
      case 'controller':
        return await controller(values, spec, token, records, kube);
      default: {
        const reason = values.reason ?? `${sub} by an operator`;
        const { state, events } = await operateRollout(records, spec, sub as 'pause' | 'resume' | 'promote' | 'abort', reason, Date.now);
        for (const e of events) await printLine(`rollout ${state.bundle.serial}: ${describeEvent(e)}`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof RolloutError) {
      errorLine(`palisade rollout ${sub}: ${err.message} [${err.code}]`);
      return 1;
    }
    throw err;
  }
}

async function loadSpec(config: string | undefined): Promise<RolloutSpec | undefined> {
  if (config === undefined) return DEFAULT_ROLLOUT_SPEC;
  try {
    return await readRolloutSpecFile(config);
  } catch (err) {
    if (!(err instanceof RolloutSpecError)) throw err;
    for (const d of err.diagnostics) errorLine(formatDiagnostic(d));
    errorLine(`palisade rollout: ${err.message}`);
    return undefined;
  }
}

/** The cluster of --kubeconfig (a file, or `in-cluster`: the pod's service account). @throws UsageError. */
function kubeConfigOf(source: string): KubeConfig {
  try {
    return loadKubeConfig(source);
  } catch (err) {
    if (err instanceof StoreError) throw new UsageError(`--kubeconfig: ${err.message}`, USAGE);
    throw err;
  }
}

async function status(records: RecordStore, spec: RolloutSpec, format: string): Promise<number> {
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json`, USAGE);
  const rec = await records.getRecord(ROLLOUT_RECORD);
  const state = rec ? parseRolloutState(rec.value) : undefined;
  const { statuses } = await readFleet(records);
  const targets = await readTargets(records);
  if (format === 'json') {
    await printText(`${JSON.stringify({ rollout: state ?? null, nodes: [...statuses.values()], targets: Object.fromEntries(targets) }, null, 2)}\n`);
  } else {
    for (const line of renderStatus({ state, spec, statuses, targets, now: Date.now() }).split('\n')) await printLine(line);
  }
  return 0;
}

async function controller(
  values: { store?: string; trust: string[]; key: string[]; prometheus?: string; interval?: string; identity?: string },
  spec: RolloutSpec,
  token: string | undefined,
  records: RecordStore,
  kube: { kubeConfig: KubeConfig; namespace: string } | undefined,
): Promise<number> {
  if (values.trust.length === 0) throw new UsageError('the controller needs --trust (it verifies the stable bundle before re-signing it as a rollback)', USAGE);
  const keys = await readSigningKeys(values.key, process.env);
  if (keys.length === 0) throw new UsageError('the controller needs --key to sign rollback bundles', USAGE);
  const intervalMs = values.interval === undefined ? 2_000 : parseDuration(values.interval);
  if (intervalMs === undefined || intervalMs < 100) throw new UsageError('--interval must be a duration of at least 100ms, e.g. 2s', USAGE);
  const ociCredentials = ociCredentialsFromEnv();
  const bundles = openStore(values.store!, { token, ociCredentials }) as BundleStore & Partial<UnlistedBundleStore>;
  if (!bundles.storeUnlisted) throw new StoreError('store-bad-url', `${bundles.location}: this store cannot keep rollback bundles, which the rollout controller needs`);
  const { trust } = await readTrust(values.trust, new Date());
  const c = new RolloutController({
    bundles,
    records,
    spec,
    ...(values.prometheus ? { prometheus: { url: values.prometheus } } : {}),
    makeRollback: rollbackMaker({ bundles: bundles as BundleStore & UnlistedBundleStore, trust, keys, now: Date.now }),
    now: Date.now,
    log: (line) => errorLine(`palisade rollout: ${line}`),
  });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await printLine(`palisade rollout: controller running on ${bundles.location}, records ${records.location} (tick ${intervalMs} ms, ${spec.waves.length} wave(s))`);
  if (records.casStrength === 'verified') {
    errorLine(`palisade rollout: warning: ${records.location} cannot arbitrate between writers (no conditional update in an OCI registry): run exactly one controller; this one stands down while another's heartbeat is fresh`);
  }
  try {
    if (kube) {
      const identity = values.identity ?? `${hostname()}-${process.pid}`;
      await runElectedController({ controller: c, ...kube, identity, intervalMs, log: (line) => errorLine(`palisade rollout: ${line}`) }, stop.signal);
    } else {
      await c.run(stop.signal, intervalMs);
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  errorLine('palisade rollout: controller stopped');
  return 0;
}
