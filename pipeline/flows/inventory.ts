/**
 * The cluster inventory (`kubectl get pods,namespaces,services,nodes -A -o json|yaml`): pods by IP and by name with
 * the identity labels Cilium would give them, namespace labels, named container ports, workloads, services, and
 * nodes (their labels, which host policies' nodeSelectors match, by address and by name). Used to
 * fill in flow endpoints that a recording left without labels. Built from already-parsed objects; no I/O.
 */
import type { Label } from '../core/model/types.js';
import type { NamedPort } from '../core/flow/types.js';
import type { ServiceInfo, ServicePortInfo } from '../core/evaluate/types.js';
import { canonicalIp } from '../core/evaluate/ip-address.js';
import { NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX, SERVICE_ACCOUNT_KEY } from '../core/model/labels.js';

/** What the inventory knows about one node: the labels its host endpoint carries (as `k8s:` labels). */
export interface InventoryNode {
  readonly name: string;
  readonly labels: readonly Label[];
}

/** What the inventory knows about one pod. */
export interface InventoryPod {
  readonly namespace: string;
  readonly name: string;
  /** Full identity labels: pod labels, namespace, namespace labels, service account. */
  readonly labels: readonly Label[];
  readonly namedPorts: readonly NamedPort[];
  readonly workload: string;
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
}

/** The apiserver always labels a namespace with its own name; recorded inventories may predate that. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

// Labels Cilium leaves out of identities by default (they change per rollout, not per workload).
const EXCLUDED_POD_LABELS = new Set(['pod-template-hash', 'controller-revision-hash', 'pod-template-generation', 'statefulset.kubernetes.io/pod-name']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `spec.ports` of a Service: entries without a valid port are skipped; targetPort defaults to the port. */
function servicePorts(v: unknown): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const p of Array.isArray(v) ? v : []) {
    if (!isObj(p) || typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) continue;
    const protocol = p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP';
    const name = str(p.name);
    out.push({ ...(name !== undefined ? { name } : {}), protocol, port: p.port, targetPort: targetPortOf(p.targetPort) ?? p.port });
  }
  return out;
}

/** An IntOrString targetPort: a port number, or a container port name; undefined when absent or invalid. */
function targetPortOf(t: unknown): number | string | undefined {
  if (typeof t === 'string' && /^\d+$/.test(t)) t = Number(t);
  if (typeof t === 'number') return Number.isInteger(t) && t >= 1 && t <= 65535 ? t : undefined;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/** The workload a pod belongs to: its controller's name (ReplicaSet hash stripped), else its app label, else itself. */
export function workloadOf(name: string, labels: Readonly<Record<string, string>>, ownerReferences: unknown): string {
  const owners = Array.isArray(ownerReferences) ? ownerReferences.filter(isObj) : [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  const ownerName = owner ? str(owner.name) : undefined;
  if (owner && ownerName) {
    const hash = labels['pod-template-hash'];
    if (owner.kind === 'ReplicaSet') {
      if (hash && ownerName.endsWith(`-${hash}`)) return ownerName.slice(0, -hash.length - 1);
      const m = /^(.*)-[a-z0-9]{5,10}$/.exec(ownerName);
      return m?.[1] ?? ownerName;
    }
    return ownerName;
  }
  return labels['app.kubernetes.io/name'] ?? labels['app'] ?? labels['k8s-app'] ?? name;
}

/** Pods, namespaces and services of a cluster, indexed for flow enrichment. */
export class Inventory {
  private readonly podsByIp = new Map<string, InventoryPod>();
  private readonly podsByName = new Map<string, InventoryPod>();
  private readonly namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  private readonly serviceList: ServiceInfo[] = [];
  private readonly serviceBackends = new Map<string, InventoryPod>();
  private readonly servicesByIp = new Map<string, ServiceInfo>();
  private readonly nodesByName = new Map<string, InventoryNode>();
  private readonly nodesByIp = new Map<string, InventoryNode>();

  /**
   * Builds the index from Kubernetes objects (Pod, Namespace, Service; others are ignored). Namespaces may come in
   * any order relative to pods.
   */
  constructor(objects: readonly unknown[]) {
    const pods: Obj[] = [];
    for (const o of objects) {
      if (!isObj(o)) continue;
      const meta = isObj(o.metadata) ? o.metadata : {};
      const name = str(meta.name);
      if (!name) continue;
      switch (o.kind) {
        case 'Namespace': {
          const labels = stringMap(meta.labels);
          labels[NAMESPACE_NAME_LABEL] ??= name;
          this.namespaceLabels.set(name, labels);
          break;
        }
        case 'Pod':
          pods.push(o);
          break;
        case 'Node':
          this.addNode(name, meta, isObj(o.status) ? o.status : {});
          break;
        case 'Service': {
          const spec = isObj(o.spec) ? o.spec : {};
          const ips = [str(spec.clusterIP), ...(Array.isArray(spec.clusterIPs) ? spec.clusterIPs.map(str) : [])]
            .filter((ip): ip is string => ip !== undefined && ip !== 'None' && ip !== '')
            .map((ip) => canonicalIp(ip))
            .filter((ip): ip is string => ip !== null);
          const selector = isObj(spec.selector) ? stringMap(spec.selector) : null;
          this.serviceList.push({
            namespace: str(meta.namespace) ?? 'default',
            name,
            labels: Object.entries(stringMap(meta.labels)).map(([key, value]) => ({ source: 'k8s', key, value })),
            selector: selector && Object.keys(selector).length > 0 ? selector : null,
            clusterIPs: [...new Set(ips)],
            ports: servicePorts(spec.ports),
          });
          break;
        }
        default:
          break;
      }
    }
    for (const p of pods) this.addPod(p);
    this.indexServiceBackends();
  }

  /** ClusterIP → the first backend pod (by name) its selector picks: how a pre-DNAT address is judged. */
  private indexServiceBackends(): void {
    const byNamespace = new Map<string, InventoryPod[]>();
    for (const pod of this.podsByName.values()) {
      const list = byNamespace.get(pod.namespace);
      if (list) list.push(pod);
      else byNamespace.set(pod.namespace, [pod]);
    }
    for (const svc of this.serviceList) {
      for (const ip of svc.clusterIPs) if (!this.servicesByIp.has(ip)) this.servicesByIp.set(ip, svc);
      if (svc.selector === null) continue;
      const wanted = Object.entries(svc.selector);
      const backends = (byNamespace.get(svc.namespace) ?? [])
        .filter((p) => !p.hostNetwork && wanted.every(([k, v]) => p.labels.some((l) => l.source === 'k8s' && l.key === k && l.value === v)))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const first = backends[0];
      if (first) for (const ip of svc.clusterIPs) if (!this.podsByIp.has(ip)) this.serviceBackends.set(ip, first);
    }
  }

  private addNode(name: string, meta: Obj, status: Obj): void {
    const labels: Label[] = Object.entries(stringMap(meta.labels)).map(([key, value]) => ({ source: 'k8s', key, value }));
    const node: InventoryNode = { name, labels };
    this.nodesByName.set(name, node);
    for (const a of Array.isArray(status.addresses) ? status.addresses : []) {
      const ip = isObj(a) && (a.type === 'InternalIP' || a.type === 'ExternalIP') ? canonicalIp(str(a.address) ?? '') : null;
      if (ip !== null && !this.nodesByIp.has(ip)) this.nodesByIp.set(ip, node);
    }
  }

  /** The node that owns an address (InternalIP or ExternalIP), if known. `ip` must be canonical. */
  nodeByIp(ip: string): InventoryNode | undefined {
    return this.nodesByIp.get(ip);
  }

  /** The node of that name, if known. */
  nodeByName(name: string): InventoryNode | undefined {
    return this.nodesByName.get(name);
  }

  /** The Service that owns a cluster IP (the first one read, should two claim it). `ip` must be canonical. */
  serviceOfIp(ip: string): ServiceInfo | undefined {
    return this.servicesByIp.get(ip);
  }

  /** The pod a Service cluster IP leads to (first backend by name), if the address is a known cluster IP. */
  backendOfServiceIp(ip: string): InventoryPod | undefined {
    return this.serviceBackends.get(ip);
  }

  private addPod(o: Obj): void {
    const meta = o.metadata as Obj;
    const spec = isObj(o.spec) ? o.spec : {};
    const status = isObj(o.status) ? o.status : {};
    const name = meta.name as string;
    const namespace = str(meta.namespace) ?? 'default';
    const podLabels = stringMap(meta.labels);
    const labels: Label[] = [];
    for (const [key, value] of Object.entries(podLabels)) if (!EXCLUDED_POD_LABELS.has(key)) labels.push({ source: 'k8s', key, value });
    labels.push(...this.namespaceIdentityLabels(namespace));
    labels.push({ source: 'k8s', key: SERVICE_ACCOUNT_KEY, value: str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? 'default' });
    const namedPorts: NamedPort[] = [];
    for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
      if (!isObj(c) || !Array.isArray(c.ports)) continue;
      for (const p of c.ports) {
        if (!isObj(p) || typeof p.name !== 'string' || typeof p.containerPort !== 'number') continue;
        const protocol = p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP';
        namedPorts.push({ name: p.name, port: p.containerPort, protocol });
      }
    }
    const ips = new Set<string>();
    for (const raw of [str(status.podIP), ...(Array.isArray(status.podIPs) ? status.podIPs.map((x) => (isObj(x) ? str(x.ip) : undefined)) : [])]) {
      const ip = raw === undefined ? null : canonicalIp(raw);
      if (ip !== null) ips.add(ip);
    }
    const pod: InventoryPod = {
      namespace,
      name,
      labels,
      namedPorts,
      workload: workloadOf(name, podLabels, meta.ownerReferences),
      ips: [...ips],
      hostNetwork: spec.hostNetwork === true,
    };
    this.podsByName.set(`${namespace}/${name}`, pod);
    // Host-network pods share the node's address, which belongs to the host identity.
    if (!pod.hostNetwork) for (const ip of ips) this.podsByIp.set(ip, pod);
  }

  /** The pod (not host-network) that owns an address, if known. `ip` must be canonical. */
  podByIp(ip: string): InventoryPod | undefined {
    return this.podsByIp.get(ip);
  }

  /** The pod of that namespace and name, if known. */
  podByName(namespace: string, name: string): InventoryPod | undefined {
    return this.podsByName.get(`${namespace}/${name}`);
  }

  /** Is the namespace known? */
  hasNamespace(namespace: string): boolean {
    return this.namespaceLabels.has(namespace);
  }

  /**
   * The labels a pod of `namespace` carries for its namespace: the namespace itself plus each namespace label as
   * `io.cilium.k8s.namespace.labels.<key>` (including `kubernetes.io/metadata.name`).
   */
  namespaceIdentityLabels(namespace: string): Label[] {
    const labels: Label[] = [{ source: 'k8s', key: NAMESPACE_KEY, value: namespace }];
    const nsLabels = this.namespaceLabels.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
    for (const [key, value] of Object.entries(nsLabels)) labels.push({ source: 'k8s', key: `${NAMESPACE_LABELS_PREFIX}${key}`, value });
    return labels;
  }

  /** Services, for `toServices` peers. */
  get services(): readonly ServiceInfo[] {
    return this.serviceList;
  }

  /** Counts, for summaries. */
  get counts(): { pods: number; namespaces: number; services: number; nodes: number } {
    return { pods: this.podsByName.size, namespaces: this.namespaceLabels.size, services: this.serviceList.length, nodes: this.nodesByName.size };
  }
}
