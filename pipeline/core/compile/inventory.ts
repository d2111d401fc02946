/**
 * What the compiler compiles for: the local pod endpoints, and every other party (hosts, nodes, outside addresses,
 * each with the DNS names its address was given) that needs an identity. Derived from recorded flows for simulation,
 * or from a node's endpoint discovery for the agent.
 */
import type { Flow, FlowEndpoint } from '../flow/types.js';
import type { DnsCache } from '../evaluate/dns-cache.js';

/** A party as one flow sees it: the endpoint plus the DNS names its address was learned for at that moment. */
export interface PeerView {
  readonly endpoint: FlowEndpoint;
  /** Normalised DNS names (see `normaliseDnsName`), sorted; empty when none. */
  readonly dnsNames: readonly string[];
}

/** The compiler's input besides the policy model. */
export interface CompileInventory {
  /** Local pod endpoints: each gets an endpoint id and a policy map. Same address twice is allowed (pod churn). */
  readonly pods: readonly FlowEndpoint[];
  /** Every other view an identity must exist for (the pods themselves need not be repeated). */
  readonly peers: readonly PeerView[];
}

/** The DNS names `dns` holds for an endpoint's address, sorted (empty for an endpoint without address). */
export function dnsNamesOf(endpoint: FlowEndpoint, dns: DnsCache | undefined): string[] {
  if (!dns || endpoint.ip === '') return [];
  const names = dns.namesFor(endpoint.ip);
  return names.size === 0 ? [] : [...names].sort();
}

/** A stable text key of an endpoint's facts that the datapath can see (kind, address, labels, named ports). */
export function endpointKey(endpoint: FlowEndpoint): string {
  // Called for every party of every flow: plain concatenation, sorting only what is not sorted already.
  const labels = endpoint.labels.map((l) => `${l.source}:${l.key}=${l.value}`);
  if (!isSorted(labels)) labels.sort();
  let key = `${endpoint.kind}\u0000${endpoint.ip}\u0000${labels.join('\u0001')}`;
  const named = endpoint.namedPorts;
  if (named !== undefined && named.length > 0) {
    const ports = named.map((p) => `${p.name}/${p.protocol}=${p.port}`);
    if (!isSorted(ports)) ports.sort();
    key += `\u0000${ports.join('\u0001')}`;
  }
  return key;
}

function isSorted(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1]! > list[i]!) return false;
  return true;
}

/**
 * Collects the inventory a recording needs: every pod seen (as a local endpoint) and every party with the DNS names
 * known for it at the time of each flow. `dns` (normally empty) is fed the flows in recording order after each flow's
 * parties are taken, exactly as the reference evaluator is fed: a flow sees only the answers of earlier flows.
 */
export function inventoryFromFlows(flows: readonly Flow[], dns: DnsCache): CompileInventory {
  const pods = new Map<string, FlowEndpoint>();
  const peers = new Map<string, PeerView>();
  for (const flow of flows) {
    for (const endpoint of [flow.src, flow.dst]) {
      const key = endpointKey(endpoint);
      if (endpoint.kind === 'pod' && !pods.has(key)) pods.set(key, endpoint);
      const names = dnsNamesOf(endpoint, dns);
      const viewKey = `${key}|${names.join(',')}`;
      if (!peers.has(viewKey)) peers.set(viewKey, { endpoint, dnsNames: names });
    }
    dns.observe(flow);
  }
  const sortedValues = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { pods: sortedValues(pods), peers: sortedValues(peers) };
}
