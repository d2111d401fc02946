/**
 * What endpoint discovery tells the agent: every pod of the cluster the policies may name (namespace, name, labels,
 * addresses), and for the pods on this node the host-side interface the datapath attaches to. One interface for
 * every source (a static file now, Kubernetes later).
 */

import type { NamedPort } from '../../pipeline/core/flow/types.js';

/** One pod. */
export interface PodEndpoint {
  readonly namespace: string;
  readonly name: string;
  /** Kubernetes labels of the pod (without source prefix). */
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the pod's namespace, when known (Cilium copies them onto the pod's identity). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Canonical IPv4/IPv6 text, at least one. */
  readonly ips: readonly string[];
  /** The node the pod runs on, when the source says. */
  readonly node?: string;
  /** Host-side interface (veth) of a pod on this node; absent for pods on other nodes. */
  readonly interface?: string;
  /**
   * The pod's named container ports: a NetworkPolicy port given by name (`port: postgres`) is resolved on the
   * destination pod, so without them such a rule allows nothing.
   */
  readonly namedPorts?: readonly NamedPort[];
}

/** One consistent view of the endpoints. */
export interface EndpointSet {
  /** Sorted by namespace, then name. */
  readonly pods: readonly PodEndpoint[];
}

/** A source of endpoints. */
export interface EndpointSource {
  /** For messages: where the endpoints come from. */
  readonly description: string;
  /**
   * The endpoints as they are now.
   * @throws DiscoveryError when the source cannot be read or holds no valid endpoint list
   */
  read(): Promise<EndpointSet>;
  /**
   * Yields the set each time it changes (a set that does not parse is reported to `onError` and skipped: the last
   * good set stays in force). Ends when `signal` aborts.
   */
  changes(signal: AbortSignal, onError: (err: unknown) => void): AsyncIterable<EndpointSet>;
}
