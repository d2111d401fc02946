/**
 * Records kept as Kubernetes objects (the rollout's Kubernetes backend), so the controller and the agents work
 * against a cluster exactly as against a store directory. Two namespaced custom resources of {@link KUBE_GROUP}:
 *
 *   rollout                 PolicyRollout `current`, `.status.state` (the controller's state; the rest of its
 *                           status and its spec are a view for kubectl, computed by the {@link PolicyRolloutView})
 *   rollouts/<serial>       PolicyRollout `serial-<serial>`, likewise (superseded rollouts)
 *   nodes/<node>/target     PolicyNode `<node>`, `.spec` (written by the controller)
 *   nodes/<node>/status     PolicyNode `<node>`, `.status` (written by the node's agent, status subresource)
 *
 * Compare-and-swap: every write is a JSON patch that sets `metadata.resourceVersion` to the version just read, so
 * the API server answers 409 when the object changed in between. Because a PolicyNode holds two records (the
 * controller's target and the agent's status), the version handed to callers is `<resourceVersion>:<digest of the
 * record's canonical JSON>`: a write succeeds when the record itself is unchanged since it was read even if its
 * sibling changed (the agent reporting does not make the controller's target write conflict). A conflict on the
 * record itself is a `store-conflict`; API errors that may pass (429, 5xx, network, a request past its deadline)
 * are retried a few times with backoff before they are raised.
 *
 * Requests per use: a node's record replaced at the version just read is one PATCH (a read and a check only after
 * a 409); a listing answers the next read of each record it listed (for a few seconds), so a controller tick that
 * lists the fleet and then reads every status and target costs one LIST, not one GET per record.
 */
import { createHash } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import { ApiException, CustomObjectsApi, Observable, PatchStrategy, setHeaderOptions, type ConfigurationOptions, type KubeConfig, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { StoreError } from './errors.js';
import { checkRecordName, checkRecordPrefix, MAX_RECORD_BYTES, MAX_RECORD_LIST, recordConflict, recordText, type ExpectedVersion, type RecordStore, type StoredRecord } from './records.js';

/** API group and version of Palisade's custom resources. */
export const KUBE_GROUP = 'palisade.dev';
export const KUBE_VERSION = 'v1alpha1';
/** Plurals of the two custom resources. */
export const POLICY_ROLLOUTS = 'policyrollouts';
export const POLICY_NODES = 'policynodes';
/** Namespace of the rollout objects (and the controller's Lease) when none is named. */
export const DEFAULT_KUBE_NAMESPACE = 'palisade';
/** The PolicyRollout holding the current rollout. */
export const CURRENT_ROLLOUT_OBJECT = 'current';

/** What a PolicyRollout shows beside its stored state; supplied by the rollout module (stores know no rollout). */
export interface PolicyRolloutView {
  /** The object's `.spec` for a stored rollout state. */
  spec(state: unknown): Record<string, unknown>;
  /**
   * The object's `.status` fields beside `state` (conditions, waves, nodes, blast radius...).
   * @param previous the status stored now (to keep conditions' lastTransitionTime), if any
   * @param generation the object's metadata.generation this status describes
   */
  status(state: unknown, previous: Record<string, unknown> | undefined, generation: number): Record<string, unknown>;
}

/** Settings of {@link KubernetesRecordStore}. */
export interface KubernetesRecordsOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespace of the PolicyRollout and PolicyNode objects. */
  readonly namespace: string;
  /** How PolicyRollout specs and status views are made (default: empty spec, state only). */
  readonly view?: PolicyRolloutView;
  /** Attempts for an API error that may pass (default 4). */
  readonly attempts?: number;
  /** First retry delay, ms, doubled each time (default 200). */
  readonly retryDelayMs?: number;
  /** Deadline of one request, ms (default 30 s); a request past it is abandoned and retried like a 5xx. */
  readonly requestTimeoutMs?: number;
}

type Obj = { metadata?: { name?: string; resourceVersion?: string; generation?: number }; spec?: unknown; status?: Record<string, unknown> } & Record<string, unknown>;

/** Where a record lives: which object, and which part of it. */
interface Place {
  readonly plural: typeof POLICY_ROLLOUTS | typeof POLICY_NODES;
  readonly kind: 'PolicyRollout' | 'PolicyNode';
  readonly object: string;
  /** `state`: PolicyRollout .status.state; `spec` / `status`: PolicyNode .spec / .status. */
  readonly part: 'state' | 'spec' | 'status';
}

const NODE_RECORD = /^nodes\/([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?)\/(status|target)$/;
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const PAST_ROLLOUT = /^rollouts\/([1-9]\d{0,15}|0)$/;
const PAST_OBJECT = /^serial-(\d{1,16})$/;
// Races with a sibling writer: each lost round re-reads and re-checks the record; more than this is a conflict.
const MAX_ROUNDS = 8;
// How long a listing may answer reads of what it listed (one controller tick reads them right after listing).
const LISTING_FRESH_MS = 5_000;

/** The rollout records of one namespace of a Kubernetes cluster. */
export class KubernetesRecordStore implements RecordStore {
  readonly location: string;
  readonly #api: CustomObjectsApi;
  readonly #o: Required<Omit<KubernetesRecordsOptions, 'kubeConfig'>>;
  /** The records of the last listing not read since (see getRecord). */
  #listed = new Map<string, StoredRecord>();
  #listedAt = 0;

  constructor(options: KubernetesRecordsOptions) {
    this.#o = { view: { spec: () => ({}), status: () => ({}) }, attempts: 4, retryDelayMs: 200, requestTimeoutMs: 30_000, ...options };
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.location = `kubernetes ${options.kubeConfig.getCurrentCluster()?.server ?? '(no cluster)'} namespace ${options.namespace}`;
  }

  async getRecord(name: string, options: { signal?: AbortSignal } = {}): Promise<StoredRecord | undefined> {
    const place = placeOf(name);
    // The listing just made answers the first read of each record it listed (the controller lists the fleet, then
    // reads every status and target): one request per tick instead of one per record.
    const listed = this.#listed.get(name);
    this.#listed.delete(name);
    if (listed && Date.now() - this.#listedAt <= LISTING_FRESH_MS) return listed;
    const obj = await this.#read(place, options.signal);
    const value = obj ? partOf(obj, place) : undefined;
    if (value === undefined) return undefined;
    return { value, version: versionOf(obj!, value, this.location, name) };
  }

  async putRecord(name: string, value: unknown, expect: ExpectedVersion, options: { signal?: AbortSignal } = {}): Promise<string> {
    const place = placeOf(name);
    recordText(value);
    const signal = options.signal;
    this.#listed.delete(name);
    // A node's record replaced at the version just read: patch at once; a 409 falls back to reading and checking.
    if (expect !== null && place.part !== 'state') {
      const rv = expect.split(':')[0]!;
      try {
        const written = await this.#write(place, { metadata: { resourceVersion: rv } }, value, signal);
        return versionOf(written, partOf(written, place), this.location, name);
      } catch (err) {
        if (statusOf(err) !== 409 && statusOf(err) !== 404) throw err;
      }
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let obj = await this.#read(place, signal);
      const current = obj ? partOf(obj, place) : undefined;
      const currentVersion = current === undefined ? undefined : versionOf(obj!, current, this.location, name);
      if (!matches(expect, currentVersion)) throw recordConflict(this.location, name, expect, currentVersion);
      try {
        if (!obj) {
          obj = await this.#create(place, value, signal);
          if (place.part === 'spec') return versionOf(obj, value, this.location, name);
        }
        const written = await this.#write(place, obj, value, signal);
        return versionOf(written, partOf(written, place), this.location, name);
      } catch (err) {
        // Someone wrote the object (or created it) between our read and our write: look again.
        if (statusOf(err) !== 409) throw err;
      }
    }
    throw new StoreError('store-conflict', `${this.location}: record ${name} kept changing while being written`, { detail: `record ${name} kept changing` });
  }

  async listRecords(prefix: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    checkRecordPrefix(prefix);
    const signal = options.signal;
    const names: string[] = [];
    const listed = new Map<string, StoredRecord>();
    const keep = (name: string, obj: Obj, place: Place): void => {
      const value = partOf(obj, place);
      if (value === undefined) return;
      names.push(name);
      listed.set(name, { value, version: versionOf(obj, value, this.location, name) });
    };
    if ('rollout'.startsWith(prefix) || prefix.startsWith('rollout')) {
      for (const obj of await this.#list(POLICY_ROLLOUTS, signal)) {
        const object = obj.metadata?.name ?? '';
        const past = PAST_OBJECT.exec(object);
        const name = object === CURRENT_ROLLOUT_OBJECT ? 'rollout' : past ? `rollouts/${past[1]}` : undefined;
        if (name) keep(name, obj, placeOf(name));
      }
    }
    if ('nodes/'.startsWith(prefix) || prefix.startsWith('nodes/')) {
      for (const obj of await this.#list(POLICY_NODES, signal)) {
        const node = obj.metadata?.name ?? '';
        if (!NODE_NAME.test(node)) continue;
        keep(`nodes/${node}/target`, obj, placeOf(`nodes/${node}/target`));
        keep(`nodes/${node}/status`, obj, placeOf(`nodes/${node}/status`));
      }
    }
    this.#listed = listed;
    this.#listedAt = Date.now();
    return names.filter((n) => n.startsWith(prefix)).sort().slice(0, MAX_RECORD_LIST);
  }

  async #read(place: Place, signal: AbortSignal | undefined): Promise<Obj | undefined> {
    try {
      return (await this.#retrying(signal, (options) => this.#api.getNamespacedCustomObject(this.#params(place), options))) as Obj;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.#failure(err, `reading ${place.kind} ${place.object}`);
    }
  }

  async #list(plural: Place['plural'], signal: AbortSignal | undefined): Promise<Obj[]> {
    try {
      const list = (await this.#retrying(signal, (options) => this.#api.listNamespacedCustomObject({ group: KUBE_GROUP, version: KUBE_VERSION, namespace: this.#o.namespace, plural }, options))) as { items?: unknown };
      if (!Array.isArray(list.items)) throw new StoreError('store-protocol', `${this.location}: listing ${plural} answered no items`);
      return list.items as Obj[];
    } catch (err) {
      throw this.#failure(err, `listing ${plural}`);
    }
  }

  /** Creates the object; a PolicyNode made for its status starts empty (the status subresource is written next). */
  async #create(place: Place, value: unknown, signal: AbortSignal | undefined): Promise<Obj> {
    const body: Obj = { apiVersion: `${KUBE_GROUP}/${KUBE_VERSION}`, kind: place.kind, metadata: { name: place.object } };
    if (place.part === 'state') body.spec = this.#o.view.spec(value);
    if (place.part === 'spec') body.spec = value;
    try {
      return (await this.#retrying(signal, (options) => this.#api.createNamespacedCustomObject({ group: KUBE_GROUP, version: KUBE_VERSION, namespace: this.#o.namespace, plural: place.plural, body }, options))) as Obj;
    } catch (err) {
      if (statusOf(err) === 409) throw err;
      throw this.#failure(err, `creating ${place.kind} ${place.object}`);
    }
  }

  /** Writes the record into `obj` as read (its resourceVersion the precondition). @returns the object written. */
  async #write(place: Place, obj: Obj, value: unknown, signal: AbortSignal | undefined): Promise<Obj> {
    let base = obj;
    if (place.part === 'state') {
      // The spec shows which bundle the state is about: updated first, so the status names the new generation.
      const spec = this.#o.view.spec(value);
      if (canonical(spec) !== canonical(obj.spec ?? {})) base = await this.#patch(place, base, false, [{ op: 'add', path: '/spec', value: spec }], signal);
      const status = { ...this.#o.view.status(value, obj.status, base.metadata?.generation ?? 1), state: value };
      return this.#patch(place, base, true, [{ op: 'add', path: '/status', value: status }], signal);
    }
    return this.#patch(place, base, place.part === 'status', [{ op: 'add', path: `/${place.part}`, value }], signal);
  }

  async #patch(place: Place, obj: Obj, status: boolean, ops: object[], signal: AbortSignal | undefined): Promise<Obj> {
    const body = [{ op: 'add', path: '/metadata/resourceVersion', value: obj.metadata?.resourceVersion ?? '' }, ...ops];
    const params = { ...this.#params(place), body };
    try {
      return (await this.#retrying(signal, (deadline) => {
        const options = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, deadline);
        return status ? this.#api.patchNamespacedCustomObjectStatus(params, options) : this.#api.patchNamespacedCustomObject(params, options);
      })) as Obj;
    } catch (err) {
      if (statusOf(err) === 409) throw err;
      throw this.#failure(err, `writing ${place.kind} ${place.object}${status ? ' status' : ''}`);
    }
  }

  #params(place: Place): { group: string; version: string; namespace: string; plural: string; name: string } {
    return { group: KUBE_GROUP, version: KUBE_VERSION, namespace: this.#o.namespace, plural: place.plural, name: place.object };
  }

  /**
   * Runs `call` (with options that bound it by the request deadline and `signal`), again after a pause while it
   * fails with an error that may pass (429, 5xx, network, deadline). `signal` aborting ends it at once.
   */
  async #retrying<T>(signal: AbortSignal | undefined, call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
    let delay = this.#o.retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      const deadline = AbortSignal.timeout(this.#o.requestTimeoutMs);
      try {
        return await call(boundBy(signal ? AbortSignal.any([signal, deadline]) : deadline));
      } catch (err) {
        if (signal?.aborted) throw new StoreError('store-timeout', `${this.location}: request abandoned: ${String(signal.reason)}`, { cause: err });
        const code = statusOf(err);
        const passing = code === undefined ? !(err instanceof StoreError) : code === 429 || code >= 500;
        if (!passing || attempt >= this.#o.attempts) {
          if (deadline.aborted) throw new StoreError('store-timeout', `${this.location}: no answer within ${this.#o.requestTimeoutMs} ms`, { cause: err, detail: 'the API server did not answer in time' });
          throw err;
        }
        await wait(delay * (0.8 + Math.random() * 0.4), undefined, signal ? { signal } : {}).catch(() => undefined);
        delay *= 2;
      }
    }
  }

  #failure(err: unknown, what: string): StoreError {
    if (err instanceof StoreError) return err;
    const code = statusOf(err);
    if (code === 401 || code === 403) return new StoreError('store-unauthorized', `${this.location}: ${what}: HTTP ${code} (the service account may not do this)`, { cause: err, detail: `${what}: HTTP ${code}` });
    if (code !== undefined) return new StoreError('store-protocol', `${this.location}: ${what}: HTTP ${code}${reasonOf(err)}`, { cause: err, detail: `${what}: HTTP ${code}` });
    const message = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message ?? String(err);
    return new StoreError('store-unreachable', `${this.location}: ${what}: ${message}`, { cause: err, detail: `${what}: API server unreachable` });
  }
}

/**
 * Where the record `name` lives.
 * @throws StoreError `store-bad-input` for a malformed name or one this backend does not keep.
 */
function placeOf(name: string): Place {
  checkRecordName(name);
  if (name === 'rollout') return { plural: POLICY_ROLLOUTS, kind: 'PolicyRollout', object: CURRENT_ROLLOUT_OBJECT, part: 'state' };
  const past = PAST_ROLLOUT.exec(name);
  if (past) return { plural: POLICY_ROLLOUTS, kind: 'PolicyRollout', object: `serial-${past[1]}`, part: 'state' };
  const node = NODE_RECORD.exec(name);
  if (node) return { plural: POLICY_NODES, kind: 'PolicyNode', object: node[1]!, part: node[3] === 'target' ? 'spec' : 'status' };
  throw new StoreError('store-bad-input', `the Kubernetes backend keeps no record '${name}' (rollout, rollouts/<serial>, nodes/<node>/status|target)`, { detail: 'record not kept by the Kubernetes backend' });
}

function partOf(obj: Obj, place: Place): unknown {
  if (place.part === 'state') return obj.status?.state ?? undefined;
  return obj[place.part] ?? undefined;
}

function versionOf(obj: Obj, value: unknown, location: string, name: string): string {
  const text = canonical(value);
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) throw new StoreError('store-corrupt', `${location}: record ${name} is larger than ${MAX_RECORD_BYTES} bytes`);
  const rv = obj.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw new StoreError('store-protocol', `${location}: ${name}: the object has no resourceVersion`);
  return `${rv}:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** True when a write expecting `expect` may replace the record whose version is `current`. */
function matches(expect: ExpectedVersion, current: string | undefined): boolean {
  if (expect === null || current === undefined) return expect === null && current === undefined;
  // Same object version, or the record itself unchanged while its sibling in the object changed.
  return expect === current || expect.split(':')[1] === current.split(':')[1];
}

/** JSON with object keys sorted (the API server stores objects with keys in its own order). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** Request options that abort the request when `signal` does. */
function boundBy(signal: AbortSignal): ConfigurationOptions {
  const middleware = {
    pre: (request: RequestContext) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function reasonOf(err: unknown): string {
  const body = (err as ApiException<unknown>).body;
  try {
    const message = (typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown }))?.message;
    return typeof message === 'string' ? `: ${message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
