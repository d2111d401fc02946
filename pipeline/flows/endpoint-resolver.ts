/**
 * Turns a Hubble flow endpoint (`{ID, identity, namespace, labels[], pod_name, workloads}` plus its IP) into a
 * normalised `FlowEndpoint`: labels parsed, the endpoint kind decided (reserved labels, then the reserved numeric
 * identity, then pod evidence), and, with an inventory, labels filled in by IP or name, namespace labels added and
 * container ports attached for named-port resolution. Results are cached, so a recording with a few thousand
 * endpoints costs a few thousand resolutions, not one per flow.
 */
import type { Label } from '../core/model/types.js';
import type { EndpointKind, FlowEndpoint, NamedPort } from '../core/flow/types.js';
import { identityKeyOf } from '../core/flow/types.js';
import { serviceTargetPort } from '../core/evaluate/service-port.js';
import { formatLabel, NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX, parseLabel } from '../core/model/labels.js';
import type { Inventory, InventoryPod } from './inventory.js';
import { InvalidFlowError } from './hubble-record.js';

const RESERVED_KIND: Readonly<Record<string, EndpointKind>> = {
  host: 'host',
  world: 'world',
  'world-ipv4': 'world',
  'world-ipv6': 'world',
  'remote-node': 'remote-node',
  'kube-apiserver': 'kube-apiserver',
  health: 'health',
  init: 'init',
  unmanaged: 'unmanaged',
  ingress: 'ingress',
};

const IDENTITY_KIND: Readonly<Record<number, EndpointKind>> = {
  1: 'host',
  2: 'world',
  3: 'unmanaged',
  4: 'health',
  5: 'init',
  6: 'remote-node',
  7: 'kube-apiserver',
  8: 'ingress',
  9: 'world',
  10: 'world',
};

// When an identity carries several reserved labels (kube-apiserver on the host), the host wins: it is identity 1.
const KIND_PRIORITY: readonly EndpointKind[] = ['host', 'remote-node', 'kube-apiserver', 'health', 'init', 'ingress', 'unmanaged', 'world'];

const NAMESPACE_NAME_LABEL_KEY = `${NAMESPACE_LABELS_PREFIX}kubernetes.io/metadata.name`;

/** The fields of a Hubble endpoint this reader uses (all optional in the JSON). */
export interface RawEndpoint {
  readonly identity?: unknown;
  readonly namespace?: unknown;
  readonly labels?: unknown;
  readonly pod_name?: unknown;
  readonly workloads?: unknown;
}

function kindFromLabels(labels: readonly Label[]): EndpointKind | undefined {
  let best: EndpointKind | undefined;
  let k8s = false;
  for (const l of labels) {
    if (l.source === 'reserved') {
      const kind = RESERVED_KIND[l.key];
      if (kind && (best === undefined || KIND_PRIORITY.indexOf(kind) < KIND_PRIORITY.indexOf(best))) best = kind;
    } else if (l.source === 'cidr' || l.source === 'fqdn') {
      best ??= 'world';
    } else if (l.source === 'k8s' || l.source === 'container' || l.source === 'unspec') {
      k8s = true;
    }
  }
  return best ?? (k8s ? 'pod' : undefined);
}

/** A pod name without its ReplicaSet/DaemonSet suffixes: the workload when nothing better is known. */
export function workloadFromPodName(name: string): string {
  const deployment = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(name);
  if (deployment) return deployment[1]!;
  const other = /^(.+)-(?:[a-z0-9]{5}|\d+)$/.exec(name);
  return other ? other[1]! : name;
}

/** Caches and enriches endpoints. One instance per reading run. */
export class EndpointResolver {
  /** Address → the endpoints seen there (identity, pod, label strings) and what they resolved to. */
  private readonly endpointCache = new Map<string, CacheEntry[]>();
  private readonly labelSets = new Map<string, readonly Label[]>();
  private readonly identityKeys = new Map<string, { identityKey: string; identityIndex: number }>();
  private readonly keyByLabels = new WeakMap<readonly Label[], { kind: EndpointKind; id: { identityKey: string; identityIndex: number } }>();
  private nextIdentityIndex = 0;

  constructor(private readonly inventory: Inventory | undefined) {}

  /**
   * Resolves one endpoint. `ip` must already be canonical ('' when the flow has none); `nodeName` is the node the
   * flow was recorded on ('' when unknown), whose labels a `reserved:host` endpoint gets from the inventory.
   * @throws InvalidFlowError with a short reason when a field has the wrong type (the caller adds file:line)
   */
  resolve(raw: RawEndpoint | undefined, ip: string, nodeName = ''): FlowEndpoint {
    const r: RawEndpoint = raw ?? {};
    let rawLabels: string[] = NO_STRINGS;
    if (r.labels !== undefined && r.labels !== null) {
      if (!Array.isArray(r.labels)) throw new InvalidFlowError('endpoint labels must be a list of strings');
      // Element types are checked on a cache miss only: a hit compared every element equal to a cached string.
      rawLabels = r.labels as string[];
    }
    const identity = typeof r.identity === 'number' ? r.identity : 0;
    const namespace = typeof r.namespace === 'string' ? r.namespace : '';
    const podName = typeof r.pod_name === 'string' ? r.pod_name : '';
    // Endpoints recur: look them up by address, then confirm the rest, labels included (a pod relabelled mid-recording
    // keeps its address and name).
    const entries = this.endpointCache.get(ip);
    if (entries !== undefined) {
      for (const e of entries) {
        if (e.identity === identity && e.namespace === namespace && e.podName === podName && e.nodeName === nodeName && sameStrings(e.rawLabels, rawLabels)) {
          return e.endpoint;
        }
      }
    }
    for (let i = 0; i < rawLabels.length; i++) if (typeof rawLabels[i] !== 'string') throw new InvalidFlowError('endpoint labels must be a list of strings');
    const endpoint = this.build(r, ip, identity, namespace, podName, this.internLabels(rawLabels), nodeName);
    // World addresses are many and cheap to rebuild: caching them would only churn memory.
    if (endpoint.kind === 'world') return endpoint;
    // Bounded: recordings with huge numbers of distinct addresses just rebuild.
    if (this.endpointCache.size >= 50_000) this.endpointCache.clear();
    const entry = { identity, namespace, podName, nodeName, rawLabels, endpoint };
    if (entries !== undefined && entries.length < 16) entries.push(entry);
    else this.endpointCache.set(ip, [entry]);
    return endpoint;
  }

  /**
   * The port of a flow's service side after service translation, as the datapath judges it: when `recordedIp` is a
   * Service cluster IP that no pod owns, a connection to `port` reaches the backend on that service port's
   * targetPort (a named one resolves on `endpoint`, the backend `resolve` chose, when it is a pod). Any other
   * address, or a port the service does not expose, keeps its port.
   */
  servicePort(recordedIp: string, endpoint: FlowEndpoint, protocol: string, port: number): number {
    const inv = this.inventory;
    if (inv === undefined || recordedIp === '' || inv.podByIp(recordedIp) !== undefined) return port;
    const service = inv.serviceOfIp(recordedIp);
    if (service === undefined) return port;
    return serviceTargetPort(service, protocol, port, endpoint.kind === 'pod' ? (endpoint.namedPorts ?? []) : []) ?? port;
  }

  /** One shared frozen array per distinct label set, so that later stages can cache by array identity. */
  private internLabels(rawLabels: readonly string[]): readonly Label[] {
    const key = rawLabels.join('\n');
    let labels = this.labelSets.get(key);
    if (labels === undefined) {
      if (this.labelSets.size >= 50_000) this.labelSets.clear();
      labels = Object.freeze(rawLabels.map(parseLabel));
      this.labelSets.set(key, labels);
    }
    return labels;
  }

  /** The identity key and its dense index; one shared key string per identity (its hash is computed once). */
  private keyOf(kind: EndpointKind, labels: readonly Label[]): { identityKey: string; identityIndex: number } {
    // Interned label arrays (world and other reserved endpoints) remember their key.
    const known = this.keyByLabels.get(labels);
    if (known !== undefined && known.kind === kind) return known.id;
    const key = identityKeyOf(kind, labels);
    let id = this.identityKeys.get(key);
    if (id === undefined) {
      // Indexes stay unique for the reader's lifetime: engines confirm hits by comparing keys anyway.
      if (this.identityKeys.size >= 50_000) this.identityKeys.clear();
      id = { identityKey: key, identityIndex: this.nextIdentityIndex++ };
      this.identityKeys.set(key, id);
    }
    this.keyByLabels.set(labels, { kind, id });
    return id;
  }

  private build(r: RawEndpoint, ip: string, identity: number, namespace: string, podName: string, labels: readonly Label[], nodeName: string): FlowEndpoint {
    const inv = this.inventory;
    let kind = kindFromLabels(labels) ?? IDENTITY_KIND[identity];
    let invPod: InventoryPod | undefined;
    if (kind === undefined || kind === 'pod') {
      invPod = (namespace !== '' && podName !== '' ? inv?.podByName(namespace, podName) : undefined) ?? (ip !== '' ? inv?.podByIp(ip) : undefined);
      // A label-less address that is a Service cluster IP is judged as its backend, as the datapath does after DNAT.
      if (invPod === undefined && kind === undefined && namespace === '' && podName === '' && ip !== '') {
        invPod = inv?.backendOfServiceIp(ip);
        if (invPod !== undefined && invPod.ips[0] !== undefined) ip = invPod.ips[0];
      }
      if (kind === undefined) kind = invPod || namespace !== '' || podName !== '' || identity >= 256 ? 'pod' : 'world';
    }
    const base = { ip, ...(identity > 0 ? { recordedIdentity: identity } : {}) };
    if (kind !== 'pod') {
      const reservedKey = kind === 'world' ? 'world' : kind;
      let finalLabels = labels.length > 0 ? labels : this.internLabels([`reserved:${reservedKey}`]);
      if (kind === 'host' || kind === 'remote-node') finalLabels = this.withNodeLabels(finalLabels, kind, ip, nodeName);
      return { kind, labels: finalLabels, ...this.keyOf(kind, finalLabels), ...base, ...(namespace ? { namespace } : {}), ...(podName ? { podName } : {}) };
    }
    const ns = namespace || invPod?.namespace || labels.find((l) => l.key === NAMESPACE_KEY)?.value || '';
    const name = podName || invPod?.name || '';
    const podLabels = this.podLabels(labels, invPod, ns);
    const workload = workloadName(r.workloads) ?? invPod?.workload ?? (name ? workloadFromPodName(name) : undefined);
    const namedPorts: readonly NamedPort[] | undefined = invPod?.namedPorts;
    return {
      kind: 'pod',
      labels: podLabels,
      ...this.keyOf('pod', podLabels),
      ...base,
      ...(ns ? { namespace: ns } : {}),
      ...(name ? { podName: name } : {}),
      ...(workload ? { workload } : {}),
      ...(namedPorts && namedPorts.length > 0 ? { namedPorts } : {}),
    };
  }

  /**
   * A node endpoint's labels plus its node's labels (`k8s:`), which host policies' nodeSelectors match: the node that
   * owns the address, or for the local host the node the flow was recorded on. Recorded `k8s:` labels win; an
   * unknown node keeps only the reserved label.
   */
  private withNodeLabels(labels: readonly Label[], kind: EndpointKind, ip: string, nodeName: string): readonly Label[] {
    const inv = this.inventory;
    if (inv === undefined || labels.some((l) => l.source === 'k8s')) return labels;
    const node = (ip !== '' ? inv.nodeByIp(ip) : undefined) ?? (kind === 'host' && nodeName !== '' ? inv.nodeByName(nodeName) : undefined);
    if (node === undefined || node.labels.length === 0) return labels;
    return this.internLabels([...labels.map(formatLabel), ...node.labels.map(formatLabel)].sort());
  }

  /** Recorded identity labels win; the inventory fills what the recording lacks. */
  private podLabels(recorded: readonly Label[], invPod: InventoryPod | undefined, ns: string): readonly Label[] {
    const hasK8s = recorded.some((l) => l.source === 'k8s' && l.key !== NAMESPACE_KEY);
    let labels: Label[] = hasK8s || !invPod ? [...recorded] : [...invPod.labels];
    if (ns !== '' && !labels.some((l) => l.key === NAMESPACE_KEY)) labels.push({ source: 'k8s', key: NAMESPACE_KEY, value: ns });
    const hasNsLabels = labels.some((l) => l.key.startsWith(NAMESPACE_LABELS_PREFIX));
    if (ns !== '' && !hasNsLabels) {
      const fromInventory = this.inventory?.namespaceIdentityLabels(ns) ?? [];
      for (const l of fromInventory) if (l.key !== NAMESPACE_KEY) labels.push(l);
    }
    // The apiserver labels every namespace with its name; add it when the recording predates that.
    if (ns !== '' && !labels.some((l) => l.key === NAMESPACE_NAME_LABEL_KEY)) {
      labels.push({ source: 'k8s', key: NAMESPACE_NAME_LABEL_KEY, value: ns });
    }
    if (labels.length === recorded.length) labels = recorded as Label[];
    return Object.freeze(labels);
  }
}

interface CacheEntry {
  readonly identity: number;
  readonly namespace: string;
  readonly podName: string;
  readonly nodeName: string;
  readonly rawLabels: readonly string[];
  readonly endpoint: FlowEndpoint;
}

const NO_STRINGS: string[] = [];

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function workloadName(workloads: unknown): string | undefined {
  if (!Array.isArray(workloads)) return undefined;
  for (const w of workloads) {
    if (typeof w === 'object' && w !== null && typeof (w as { name?: unknown }).name === 'string') return (w as { name: string }).name;
  }
  return undefined;
}
