/**
 * Discovered pods as the table compiler's inventory: this node's pods (those with a host-side interface) become local
 * endpoints, one per address; every other pod is a peer that needs an identity and ipcache rows.
 */
import type { CompileInventory } from '../../pipeline/core/compile/index.js';
import type { FlowEndpoint } from '../../pipeline/core/flow/types.js';
import type { Label } from '../../pipeline/core/model/types.js';
import { NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX } from '../../pipeline/core/model/labels.js';
import type { EndpointSet, PodEndpoint } from '../discovery/index.js';

/** One address of a pod, as the engines see it. */
export interface PodAddress {
  readonly pod: PodEndpoint;
  readonly endpoint: FlowEndpoint;
  readonly local: boolean;
}

/** The identity labels Cilium gives a pod: its labels, its namespace, its namespace's labels (all `k8s:`). */
export function podLabels(pod: PodEndpoint): Label[] {
  const labels: Label[] = Object.entries(pod.labels).map(([key, value]) => ({ source: 'k8s', key, value }));
  labels.push({ source: 'k8s', key: NAMESPACE_KEY, value: pod.namespace });
  for (const [key, value] of Object.entries(pod.namespaceLabels)) labels.push({ source: 'k8s', key: `${NAMESPACE_LABELS_PREFIX}${key}`, value });
  return labels.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Every address of every pod, local ones first within each pod's order. */
export function podAddresses(set: EndpointSet): PodAddress[] {
  return set.pods.flatMap((pod) => {
    const labels = podLabels(pod);
    return pod.ips.map((ip) => ({
      pod,
      local: pod.interface !== undefined,
      endpoint: { kind: 'pod', ip, labels, namespace: pod.namespace, podName: pod.name, ...(pod.namedPorts ? { namedPorts: pod.namedPorts } : {}) } satisfies FlowEndpoint,
    }));
  });
}

/** The compiler's inventory for `set`. */
export function inventoryOf(set: EndpointSet): CompileInventory {
  const all = podAddresses(set);
  return {
    pods: all.filter((a) => a.local).map((a) => a.endpoint),
    peers: all.filter((a) => !a.local).map((a) => ({ endpoint: a.endpoint, dnsNames: [] })),
  };
}
