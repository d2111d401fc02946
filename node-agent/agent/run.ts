/**
 * `palisade-agent run`: the daemon. Takes the state directory, opens the pinned datapath (adopting what a previous
 * agent left: unknown pins and crashed self-test loads are removed and logged), re-verifies and adopts the
 * committed bundle, then watches the store (capped exponential backoff with jitter while it is unreachable) and the
 * endpoints file, one change at a time, writing status.json after each and serving metrics. SIGTERM/SIGINT stop the
 * agent and leave the datapath enforcing (pins and filters stay for the next agent).
 */
import { existsSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openRecordStore, openStore, ociCredentialsFromEnv, type BundleDescriptor, type RecordStore } from '../../pipeline/stores/index.js';
import { MAP_NAMES, openDatapath, type LoadedDatapath } from '../datapath/index.js';
import type { EndpointSet, EndpointSource } from '../discovery/index.js';
import { AgentMetrics, serveMetrics, type MetricsServer } from '../metrics/index.js';
import { adopt } from './adopt.js';
import { applyBundle } from './apply.js';
import { Backoff } from './backoff.js';
import { healthCheck, type AgentConfig } from './config.js';
import { codeOf, messageOf, type CycleDeps } from './cycle.js';
import { FlowLog } from './flow-log.js';
import { HubbleFormatter, monotonicEpochMs } from './hubble-events.js';
import { KernelAgentDatapath } from './kernel-datapath.js';
import type { AgentLog } from './log.js';
import { reconcileEndpoints } from './reconcile.js';
import { StateDir, type RuntimeStatus } from './state-dir.js';
import { readAgentTrust } from './trust.js';
import { AgentError } from './errors.js';
import { predictedDropsFor, RolloutLink, statusFor, type NodeTargetView } from './rollout-link.js';
import { sameAudit } from './audit.js';
import { switchAudit } from './switch-audit.js';
import type { AgentClock, AgentState, ApplyStep } from './types.js';

/** Options of {@link runAgent}. */
export interface RunOptions {
  readonly storeUrl: string;
  readonly trustPaths: readonly string[];
  readonly endpoints: EndpointSource;
  readonly stateDir: string;
  readonly pinDir: string;
  readonly objectPath: string;
  /** `host:port` for /metrics, /healthz, /readyz. */
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly bakeMs: number;
  readonly pollMs: number;
  readonly config: AgentConfig;
  /** This node's name (for Hubble lines; default the host name). */
  readonly node?: string;
  /** Fault injection: SIGKILL this process as this step starts. */
  readonly dieAt?: ApplyStep;
  readonly log: AgentLog;
  readonly signal: AbortSignal;
  /** Called once the agent is running (metrics address bound). */
  readonly onReady?: (info: { metricsAddress: string | null }) => void;
  /**
   * Rollout mode: run the bundle this node's target record names (written by `palisade rollout controller` in the
   * same store) instead of following `latest`, and report to the node's status record. Needs `node`.
   */
  readonly rollout?: {
    readonly labels: Readonly<Record<string, string>>;
    readonly token?: string | undefined;
    /** Where the node's target and status records are kept instead of the store (e.g. the Kubernetes API). */
    readonly records?: RecordStore;
  };
}

const realClock: AgentClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * Runs the agent until `signal` aborts.
 * @throws AgentError / DiscoveryError / BundleError / LibbpfError for what stops it from starting (bad trust, a
 *         state directory in use or corrupt, no BPF); once running, failures are logged and retried
 */
export async function runAgent(o: RunOptions): Promise<void> {
  const state = new StateDir(o.stateDir);
  state.ensure();
  const unlock = state.lock();
  let dp: LoadedDatapath | undefined;
  let server: MetricsServer | undefined;
  try {
    const trust = readAgentTrust(o.trustPaths, new Date());
    const store = openStore(o.storeUrl, { ociCredentials: ociCredentialsFromEnv() });
    if (o.rollout && !o.node) throw new AgentError('bad-argument', 'rollout mode needs --node (the name of this node\'s records)');
    const link = o.rollout ? new RolloutLink(o.rollout.records ?? openRecordStore(o.storeUrl, { token: o.rollout.token, ociCredentials: ociCredentialsFromEnv(), writer: `agent:${o.node!}` }), o.node!, o.rollout.labels) : undefined;
    let endpoints: EndpointSet = await o.endpoints.read();
    o.log.line('info', `endpoints from ${o.endpoints.description}: ${endpoints.pods.length} pods, ${endpoints.pods.filter((p) => p.interface !== undefined).length} on this node`);

    sweepPins(o.pinDir, o.log);
    dp = openDatapath({ objectPath: o.objectPath, pinDir: o.pinDir });
    const loaded = dp;
    const datapath = new KernelAgentDatapath(loaded, { objectPath: o.objectPath, pinDir: o.pinDir, log: o.log });
    const metrics = new AgentMetrics();
    // Counting a map's entries walks all its keys: done after each change, not on every status write or scrape.
    let pressure = loaded.mapPressure();
    metrics.bindDatapath(() => loaded.readCounters(), () => pressure);
    const health = healthCheck(o.config);
    const deps: CycleDeps = {
      store,
      datapath,
      persistence: state,
      clock: realClock,
      trust,
      endpoints: () => endpoints,
      bake: { durationMs: o.bakeMs, intervalMs: Math.min(o.config.bake.intervalMs, Math.max(o.bakeMs, 1)), ...(o.config.bake.maxPolicyDrops !== undefined ? { maxPolicyDrops: o.config.bake.maxPolicyDrops } : {}), ...(health ? { health } : {}) },
      log: o.log,
      observer: { step: (s, sec) => metrics.step(s, sec), outcome: (x) => metrics.outcome(x) },
      ...(o.dieAt ? { beforeStep: (s: ApplyStep) => { if (s === o.dieAt) { o.log.line('warn', `fault injection: dying at ${s}`); process.kill(process.pid, 'SIGKILL'); } } } : {}),
    };

    const control = loaded.control();
    const persisted = await state.read();
    let current: AgentState = await adopt(deps, persisted, { activeGen: control.activeGen, serial: Number(control.serial) });
    if (current.lastRollback && current.lastRollback !== persisted.rollback) metrics.rollback(current.lastRollback.reason);
    metrics.setSerial(current.enforced?.serial ?? 0);
    // Verdict events: counted for metrics and written as Hubble lines for `observe` (this agent is the ring's reader).
    const flowLog = new FlowLog(o.stateDir);
    const bootMs = monotonicEpochMs();
    let formatter: { tables: unknown; endpoints: unknown; f: HubbleFormatter } | undefined;
    const stopEvents = loaded.onEvent((e) => {
      metrics.event(e);
      const tables = current.enforcedTables;
      if (!tables || !current.enforced) return;
      if (formatter?.tables !== tables || formatter.endpoints !== endpoints) {
        formatter = { tables, endpoints, f: new HubbleFormatter({ node: o.node ?? hostname(), serial: current.enforced.serial, tables, endpoints, bootMs }) };
      }
      flowLog.append(formatter.f.line(e));
    });
    // The ring's readiness wakes the consumer; a drain every second also catches a wakeup the kernel skipped. The
    // flow log is written every 250 ms.
    let ticks = 0;
    const drain = setInterval(() => {
      try {
        if (++ticks % 4 === 0) loaded.pollEvents();
        flowLog.flush();
      } catch (err) {
        o.log.line('error', `verdict events: ${messageOf(err)}`);
      }
    }, 250);

    // Packets dropped by policy, or would-be dropped in audit, since the enforced bundle was activated (kernel
    // counters, exact), for rollout reports.
    const droppedTotal = (): number => loaded.readCounters().reduce((n, r) => (r.verdict === 'dropped' || r.verdict === 'audit' ? n + r.packets : n), 0);
    let dropsBase = { digest: current.enforced?.bundleDigest ?? null, total: droppedTotal() };
    /** Drops while a bundle that was then refused or rolled back ran: what its reports (and a blast radius) count. */
    const dropsOfRefused = new Map<string, number>();
    let target: NodeTargetView | undefined;
    const reportRollout = async (): Promise<void> => {
      if (!link) return;
      const digest = current.enforced?.bundleDigest ?? null;
      if (digest !== dropsBase.digest) dropsBase = { digest, total: droppedTotal() };
      const predicted = current.enforcedContents ? predictedDropsFor(current.enforcedContents.probes, endpoints) : undefined;
      const refused = target?.descriptor ? dropsOfRefused.get(target.descriptor.digest) : undefined;
      await link.report(statusFor(current, target, refused ?? Math.max(0, droppedTotal() - dropsBase.total), Date.now(), predicted)).catch((err) => o.log.line('warn', `rollout status not written: ${codeOf(err)}: ${messageOf(err)}`));
    };

    // Status as the `status` command shows it.
    const store_ = { up: false, lastError: null as string | null, nextAttemptAt: null as string | null };
    let endpointsError: string | null = null;
    let applying: string | null = null;
    const writeStatus = async (): Promise<void> => {
      const tables = current.enforcedTables;
      const status: RuntimeStatus = {
        pid: process.pid,
        updatedAt: new Date().toISOString(),
        store: { location: store.location, ...store_ },
        endpoints: { source: o.endpoints.description, pods: endpoints.pods.length, local: endpoints.pods.filter((p) => p.interface !== undefined).length, lastError: endpointsError },
        endpointEntries: tables ? tables.pressure.map((p) => ({ endpoint: p.endpoint, entries: p.entries, max: p.max })) : [],
        mapPressure: pressure,
        applying,
      };
      await state.saveStatus(status).catch((err) => o.log.line('error', `cannot write status.json: ${messageOf(err)}`));
    };

    // One change at a time: applies and endpoint reconciliations never interleave.
    let queue: Promise<unknown> = Promise.resolve();
    const serially = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = queue.then(fn).finally(() => {
        pressure = loaded.mapPressure();
      });
      queue = run.catch(() => undefined);
      return run;
    };

    if (o.metrics) {
      server = await serveMetrics(metrics, o.metrics.host, o.metrics.port, () => current.enforced !== null);
      o.log.line('info', `metrics on http://${server.address}/metrics`);
    }
    await writeStatus();
    o.onReady?.({ metricsAddress: server?.address ?? null });
    o.log.line('info', `running: store ${store.location}, state ${o.stateDir}, pins ${o.pinDir}`);

    const backoff = new Backoff();
    /** Records the store as down. @returns how long to wait before asking again */
    const down = (code: string, message: string): number => {
      if (store_.up || store_.lastError === null) o.log.line('warn', `store unreachable: ${store.location}: ${code}: ${message}`);
      store_.up = false;
      store_.lastError = `store unreachable: ${code}: ${message}`;
      metrics.setStoreUp(false);
      const wait = backoff.next();
      store_.nextAttemptAt = new Date(Date.now() + wait).toISOString();
      return wait;
    };
    const storeLoop = async (): Promise<void> => {
      while (!o.signal.aborted) {
        let wait = o.pollMs;
        try {
          const signal = AbortSignal.any([o.signal, AbortSignal.timeout(30_000)]);
          let latest: BundleDescriptor | undefined | null;
          if (link) {
            target = await link.target(signal);
            latest = target?.descriptor;
          } else {
            latest = await store.latest({ signal });
          }
          if (!store_.up) o.log.line('info', `store reachable: ${store.location}`);
          store_.up = true;
          store_.lastError = null;
          store_.nextAttemptAt = null;
          metrics.setStoreUp(true);
          backoff.reset();
          if (latest && latest.digest !== current.enforced?.bundleDigest && !current.rejected.has(latest.digest)) {
            applying = `serial ${latest.serial}`;
            await writeStatus();
            await reportRollout();
            // Drops count from here: the bake's (and, in audit, its would-be drops on real traffic) belong to it.
            dropsBase = { digest: latest.digest, total: droppedTotal() };
            const r = await serially(() => applyBundle(deps, current, latest, target?.audit));
            current = r.state;
            if (current.rejected.has(latest.digest)) {
              dropsOfRefused.set(latest.digest, Math.max(0, droppedTotal() - dropsBase.total));
              // Reports are about the current target: a few recent ones are enough.
              if (dropsOfRefused.size > 16) dropsOfRefused.delete(dropsOfRefused.keys().next().value!);
            }
            applying = null;
            metrics.setSerial(current.enforced?.serial ?? 0);
            if (r.outcome.kind === 'store-unreachable') wait = down(r.outcome.code, r.outcome.message);
          } else if (latest && latest.digest === current.enforced?.bundleDigest && !current.rejected.has(latest.digest) && !sameAudit(current.enforced.audit, target?.audit)) {
            // The same bundle, another mode (audit first, then enforce): one control-map write after a self-test.
            current = (await serially(() => switchAudit(deps, current, target?.audit))).state;
          }
          metrics.setAudit(current.enforced?.audit !== undefined);
        } catch (err) {
          if (o.signal.aborted) break;
          applying = null;
          wait = down(codeOf(err), messageOf(err));
        }
        await writeStatus();
        await reportRollout();
        await realClock.sleep(wait, o.signal);
      }
    };

    const endpointsLoop = async (): Promise<void> => {
      for await (const set of o.endpoints.changes(o.signal, (err) => {
        endpointsError = `${codeOf(err)}: ${messageOf(err)}`;
        o.log.line('error', `endpoints from ${o.endpoints.description} not applied: ${endpointsError}; the last good set stays in force`);
      })) {
        endpoints = set;
        endpointsError = null;
        const r = await serially(() => reconcileEndpoints(deps, current, set));
        current = r.state;
        await writeStatus();
      }
    };

    await Promise.all([storeLoop(), endpointsLoop()]);
    await queue;
    clearInterval(drain);
    stopEvents();
    flowLog.close();
    o.log.line('info', 'stopping: the datapath keeps enforcing');
  } finally {
    await server?.close();
    dp?.release();
    unlock();
  }
}

/**
 * Removes what this agent does not own in its pin directory (pins of other names) and the private pin directories
 * a self-test leaves when the agent dies during it. Each removal is logged.
 */
function sweepPins(pinDir: string, log: AgentLog): void {
  const ours = new Set<string>(Object.values(MAP_NAMES));
  if (existsSync(pinDir)) {
    for (const name of readdirSync(pinDir)) {
      if (ours.has(name)) continue;
      unlinkSync(join(pinDir, name));
      log.line('warn', `removed pin ${join(pinDir, name)}: not a map of this agent`);
    }
    const kept = readdirSync(pinDir).filter((n) => ours.has(n));
    if (kept.length > 0) log.line('info', `adopting ${kept.length} pinned maps in ${pinDir}`);
  }
  for (const dir of [`${pinDir}-selftest`, `${pinDir}-probe`]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
    rmdirSync(dir);
    log.line('warn', `removed ${dir}: left by a self-test that did not finish`);
  }
}
