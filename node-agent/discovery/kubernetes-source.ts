/**
 * Endpoints from the Kubernetes API: every pod of the cluster (for the ipcache) with its namespace's labels, and for
 * the pods scheduled on this node the host-side interface the datapath attaches to. Pods and namespaces are followed
 * by @kubernetes/client-node informers (list, then watch from the list's resourceVersion with bookmarks, resuming
 * from the last seen version after a dropped stream and listing anew on 410 Gone); an informer that fails (API
 * server down, 403) is restarted with capped exponential backoff and jitter, the last good set staying in force.
 *
 * Which pods count: not hostNetwork (those are the host's identity), not finished (Succeeded/Failed), with at least
 * one IP. A local pod whose host interface cannot be found yet (its veth is still being set up) is listed without
 * one and gains it on a later change.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { CoreV1Api, ListWatch, Watch, type KubeConfig, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import { escapeUntrusted } from '../../pipeline/core/text/index.js';
import { DiscoveryError } from './errors.js';
import type { EndpointSet, EndpointSource, PodEndpoint } from './types.js';

/** Settings of {@link KubernetesEndpointSource}. */
export interface KubernetesSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** This node's name (the pods whose spec.nodeName equals it get their host interface). */
  readonly nodeName: string;
  /** The host-side interface of a local pod's address; default: the routing table's answer (`ip route get`). */
  readonly hostInterfaceOf?: (ip: string) => Promise<string | undefined>;
  /** Changes within this many ms are reported as one set (default 100). */
  readonly settleMs?: number;
  /** Longest wait between restarts of a failed informer, ms (default 30 s). */
  readonly maxBackoffMs?: number;
  /** One line per informer failure and restart. */
  readonly log?: (line: string) => void;
}

type Informer<T> = ListWatch<T & { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }>;

/** Endpoints from the Kubernetes API server of `kubeConfig`. Call {@link close} when done. */
export class KubernetesEndpointSource implements EndpointSource {
  readonly description: string;
  readonly #o: Required<Omit<KubernetesSourceOptions, 'kubeConfig'>>;
  readonly #pods: Informer<V1Pod>;
  readonly #namespaces: Informer<V1Namespace>;
  readonly #listeners = new Set<() => void>();
  readonly #interfaces = new Map<string, string>();
  #started: Promise<void> | undefined;
  #closed = false;
  #syncing = false;
  #lastError: unknown;

  constructor(options: KubernetesSourceOptions) {
    this.#o = { hostInterfaceOf: interfaceByRoute, settleMs: 100, maxBackoffMs: 30_000, log: () => undefined, ...options };
    const kc = options.kubeConfig;
    this.description = `kubernetes ${kc.getCurrentCluster()?.server ?? '(no cluster)'} (node ${options.nodeName})`;
    const api = kc.makeApiClient(CoreV1Api);
    // Bookmarks keep the resume point fresh on quiet resources, so a reconnect rarely needs a full list.
    const real = new Watch(kc);
    const watch = { watch: (path: string, params: Record<string, unknown>, cb: never, done: never) => real.watch(path, { ...params, allowWatchBookmarks: true }, cb, done) } as unknown as Watch;
    this.#pods = new ListWatch('/api/v1/pods', watch, () => api.listPodForAllNamespaces(), false) as Informer<V1Pod>;
    this.#namespaces = new ListWatch('/api/v1/namespaces', watch, () => api.listNamespace(), false) as Informer<V1Namespace>;
    for (const informer of [this.#pods, this.#namespaces] as Informer<unknown>[]) {
      for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, () => this.#changed());
    }
    this.#keepRunning(this.#pods, 'pods');
    this.#keepRunning(this.#namespaces, 'namespaces');
  }

  /**
   * The endpoints as the API server has them now (the first call waits for the initial lists).
   * @throws DiscoveryError `endpoints-api-unavailable` when the initial lists cannot be had.
   */
  async read(): Promise<EndpointSet> {
    await this.#start();
    return this.#snapshot();
  }

  async *changes(signal: AbortSignal, onError: (err: unknown) => void): AsyncIterable<EndpointSet> {
    await this.#start();
    let pending = false;
    let wake: (() => void) | undefined;
    const listener = (): void => {
      pending = true;
      wake?.();
    };
    this.#listeners.add(listener);
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        if (!pending) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (signal.aborted) break;
        // Let a burst of events (a rollout restarting many pods) settle into one set.
        await new Promise((r) => setTimeout(r, this.#o.settleMs));
        pending = false;
        try {
          yield await this.#snapshot();
        } catch (err) {
          onError(err);
        }
        if (this.#lastError !== undefined) {
          onError(this.#lastError);
          this.#lastError = undefined;
        }
      }
    } finally {
      this.#listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops both informers. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#pods.stop(), this.#namespaces.stop()]);
  }

  #start(): Promise<void> {
    this.#started ??= this.#initialSync().catch((err: unknown) => {
      this.#started = undefined;
      throw new DiscoveryError('endpoints-api-unavailable', `${this.description}: cannot list pods and namespaces: ${describe(err)}`, undefined, { cause: err });
    });
    return this.#started;
  }

  /** Lists both resources and opens their watches. An informer reports a failed list to its error callbacks and
   * still resolves `start()`, so failures are caught on the side and the informers stopped again. */
  async #initialSync(): Promise<void> {
    const failures: unknown[] = [];
    const onError = (err: unknown): void => void failures.push(err);
    this.#syncing = true;
    const informers = [this.#pods, this.#namespaces] as Informer<unknown>[];
    informers.forEach((i) => i.on('error', onError));
    try {
      await Promise.all(informers.map((i) => i.start()));
    } finally {
      informers.forEach((i) => i.off('error', onError));
      this.#syncing = false;
    }
    if (failures.length > 0) {
      await Promise.all(informers.map((i) => i.stop()));
      throw failures[0];
    }
  }

  /** Restarts an informer that stopped on an error, with capped exponential backoff and jitter. */
  #keepRunning(informer: Informer<unknown>, what: string): void {
    let delay = 500;
    informer.on('connect', () => undefined);
    informer.on('error', (err: unknown) => {
      // Failures of the initial lists are the caller's (read() throws); later ones are retried here.
      if (this.#closed || this.#syncing) return;
      this.#lastError = new DiscoveryError('endpoints-api-unavailable', `${this.description}: watching ${what} failed: ${describe(err)}; retrying in ${Math.round(delay / 1000)} s`, undefined, { cause: err });
      this.#o.log((this.#lastError as Error).message);
      this.#changed();
      const wait = delay * (1 + Math.random() * 0.2);
      delay = Math.min(delay * 2, this.#o.maxBackoffMs);
      setTimeout(() => {
        if (!this.#closed) informer.start().then(() => (delay = 500), () => undefined);
      }, wait).unref();
    });
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  async #snapshot(): Promise<EndpointSet> {
    const nsLabels = new Map<string, Record<string, string>>();
    for (const ns of this.#namespaces.list()) if (ns.metadata?.name) nsLabels.set(ns.metadata.name, { ...(ns.metadata.labels ?? {}) });
    const pods: PodEndpoint[] = [];
    for (const pod of this.#pods.list()) {
      const endpoint = await this.#endpointOf(pod, nsLabels);
      if (endpoint) pods.push(endpoint);
    }
    pods.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
    return { pods };
  }

  async #endpointOf(pod: V1Pod, nsLabels: Map<string, Record<string, string>>): Promise<PodEndpoint | undefined> {
    const { name, namespace } = pod.metadata ?? {};
    if (!name || !namespace || pod.spec?.hostNetwork) return undefined;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
    const ips = [...new Set([...(pod.status?.podIPs ?? []).map((p) => p.ip), pod.status?.podIP].filter((ip): ip is string => typeof ip === 'string' && isIP(ip) !== 0))];
    if (ips.length === 0) return undefined;
    const namedPorts = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).flatMap((p) =>
      p.name && (p.protocol ?? 'TCP').match(/^(TCP|UDP|SCTP)$/) ? [{ name: p.name, port: p.containerPort, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP' }] : [],
    );
    const base = { namespace, name, labels: { ...(pod.metadata?.labels ?? {}) }, namespaceLabels: nsLabels.get(namespace) ?? {}, ips, ...(namedPorts.length > 0 ? { namedPorts } : {}) };
    if (pod.spec?.nodeName !== this.#o.nodeName) return base;
    const key = `${pod.metadata?.uid ?? `${namespace}/${name}`}@${ips[0]}`;
    let ifname = this.#interfaces.get(key);
    if (ifname === undefined) {
      ifname = await this.#o.hostInterfaceOf(ips[0]!).catch(() => undefined);
      if (ifname !== undefined) this.#interfaces.set(key, ifname);
    }
    return ifname === undefined ? base : { ...base, interface: ifname };
  }
}

const execFileP = promisify(execFile);
const IFNAME = /^[A-Za-z0-9_.@:-]{1,15}$/;

/**
 * The interface the routing table sends `ip` out of (`ip -j route get`), as CNI plugins that route each pod through
 * its own veth (Cilium's lxc devices, Calico's cali*) set it up. Undefined when there is no such route.
 */
export async function interfaceByRoute(ip: string): Promise<string | undefined> {
  if (isIP(ip) === 0) return undefined;
  let stdout: string;
  try {
    ({ stdout } = await execFileP('ip', ['-j', 'route', 'get', ip], { timeout: 5_000 }));
  } catch {
    return undefined; // unreachable: no route at all
  }
  const routes = JSON.parse(stdout) as { dev?: unknown; type?: unknown }[];
  const dev = routes[0]?.dev;
  return typeof dev === 'string' && IFNAME.test(dev) && dev !== 'lo' ? dev : undefined;
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; cause?: { message?: unknown } };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) return `HTTP ${status}`;
  const msg = typeof e?.cause?.message === 'string' ? e.cause.message : typeof e?.message === 'string' ? e.message : String(err);
  return escapeUntrusted(msg);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
