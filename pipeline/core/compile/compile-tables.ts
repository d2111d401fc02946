/**
 * The table compiler: policy model + inventory → identities, ipcache, local endpoints, per-endpoint policy entries
 * and the rule table, with a map-pressure report. Pure and deterministic: the same input gives the same sorted
 * entries. The overflow check runs before anything leaves the compiler, so an overflowing policy set is never loaded.
 *
 * Local endpoints are the pods, then the node endpoints (`host`, `remote-node`) that a host policy (nodeSelector)
 * selects: a node endpoint gets an endpoint id and a policy map exactly like a pod (without the local-host exemption,
 * which is for pods), so the `tables` and `kernel` engines enforce host policies as the reference evaluator does. The
 * datapath classifies by address, so BPF_PROG_TEST_RUN judges a host's packets like a pod's; on a live node the
 * host firewall takes effect only where the programs are attached to the host's own devices, which attaching to pod
 * interfaces alone does not do.
 */
import type { Direction, PolicyModel } from '../model/types.js';
import type { FlowEndpoint, NamedPort, RuleRef } from '../flow/types.js';
import { compileModel, type CompiledModel, type CompiledRule } from '../evaluate/compile-model.js';
import { Identity, isNodeEndpoint } from '../evaluate/identity-cache.js';
import { parseCidr, parseIp } from '../evaluate/ip-address.js';
import type { ServiceInfo } from '../evaluate/types.js';
import type { IpcacheEntry, PolicyEntry } from './entries.js';
import { CompileError, MapPressureError } from './errors.js';
import { gatherAddressFacts, IdentityTable, worldViewOfPrefix, type AddressFacts, type CompiledIdentity } from './identities.js';
import { endpointKey, type CompileInventory, type PeerView } from './inventory.js';
import { IpcacheLpm } from './ipcache-lpm.js';
import { keyPrefixLen } from './l4-prefix.js';
import { peerSelects, peerSelectsEveryone } from './peer-select.js';
import { distilDirection, type PeerResolver } from './policy-entries.js';

/** Cilium's default per-endpoint policy map size. */
export const DEFAULT_MAX_ENTRIES_PER_ENDPOINT = 16_384;
/** The policy map holds both generations of every endpoint (PALISADE_POLICY_MAX_ENTRIES): half per generation. */
export const DEFAULT_MAX_ENTRIES_PER_GENERATION = 262_144 / 2;
/** The ipcache holds both generations (PALISADE_IPCACHE_MAX_ENTRIES): half per generation. */
export const DEFAULT_MAX_IPCACHE_ENTRIES_PER_GENERATION = 1_048_576 / 2;

/** Options of `compileTables`. */
export interface CompileOptions {
  /** Services for `toServices` peers (default none). */
  readonly services?: readonly ServiceInfo[];
  /** Entries one endpoint may hold, both directions together (default 16,384, Cilium's default). */
  readonly maxEntriesPerEndpoint?: number;
  /** Entries all endpoints of one generation may hold together (default 131,072). */
  readonly maxEntriesPerGeneration?: number;
  /** ipcache rows one generation may hold (default 524,288). */
  readonly maxIpcacheEntriesPerGeneration?: number;
}

/** A local endpoint of the compiled tables. */
export interface CompiledEndpoint {
  readonly endpointId: number;
  readonly address: string;
  readonly identity: number;
  readonly namespace?: string;
  readonly podName?: string;
}

/** Entries of one endpoint against the maximum. */
export interface EndpointPressure {
  readonly endpointId: number;
  /** `namespace/pod (ip)` */
  readonly endpoint: string;
  readonly entries: number;
  readonly max: number;
}

/** What the compiler emits: plain, sorted entries; only the agent turns them into bytes. */
export interface CompiledTables {
  readonly identities: readonly { readonly id: number; readonly labels: readonly string[] }[];
  /** Sorted by family, prefix length, address. */
  readonly ipcache: readonly IpcacheEntry[];
  /** Sorted by endpoint id. */
  readonly endpoints: readonly CompiledEndpoint[];
  /** Sorted by endpoint, direction, identity, protocol, port, prefix length. */
  readonly policy: readonly PolicyEntry[];
  /** ruleId → the rules that decide a packet matching that entry (sorted); id 0 is the empty list. */
  readonly ruleTable: readonly (readonly RuleRef[])[];
  /** Per endpoint, most loaded first. */
  readonly pressure: readonly EndpointPressure[];
}

/** The compiled tables plus what the engines need to bind flows to them. */
export interface CompiledState {
  readonly tables: CompiledTables;
  readonly identityTable: IdentityTable;
  readonly facts: AddressFacts;
  /** endpointKey(pod) → endpoint id. */
  readonly endpointIds: ReadonlyMap<string, number>;
  readonly evaluatorModel: CompiledModel;
}

/** Describes an endpoint for messages: `namespace/pod (ip)`, or `host (ip)` for a node endpoint. */
export function describeEndpoint(e: FlowEndpoint): string {
  const name = e.podName !== undefined ? `${e.namespace ?? ''}${e.namespace !== undefined ? '/' : ''}${e.podName}` : e.kind;
  return `${name} (${e.ip === '' ? 'no address' : e.ip})`;
}


/**
 * Compiles tables for an inventory.
 * @returns the tables (see `CompiledTables`)
 * @throws MapPressureError when an endpoint (or a whole generation) would exceed its map size; nothing is returned
 * @throws CompileError for more than 65,535 endpoints, an ipcache over its size, or a bad option
 */
export function compileTables(model: PolicyModel, inventory: CompileInventory, options: CompileOptions = {}): CompiledTables {
  return compileState(model, inventory, options).tables;
}

/** `compileTables`, also returning the identity table and bindings the engines need. Same errors. */
export function compileState(model: PolicyModel, inventory: CompileInventory, options: CompileOptions = {}): CompiledState {
  const maxPerEndpoint = options.maxEntriesPerEndpoint ?? DEFAULT_MAX_ENTRIES_PER_ENDPOINT;
  const maxPerGeneration = options.maxEntriesPerGeneration ?? DEFAULT_MAX_ENTRIES_PER_GENERATION;
  if (!Number.isInteger(maxPerEndpoint) || maxPerEndpoint < 1) throw new CompileError('bad-option', `maxEntriesPerEndpoint must be a positive integer, got ${maxPerEndpoint}`);
  const services = options.services ?? [];
  const evaluatorModel = compileModel(model, services);
  const facts = gatherAddressFacts(model, services);

  // Every party that needs an identity: pods, inventory peers, each model prefix's outside addresses, and the two
  // catch-all outside identities.
  const pods = [...inventory.pods].sort((a, b) => cmp(endpointKey(a), endpointKey(b)));
  const views: PeerView[] = pods.map((endpoint) => ({ endpoint, dnsNames: [] }));
  views.push(...inventory.peers);
  // Local endpoints: every pod, then every node endpoint a host policy selects.
  const locals = [...pods, ...nodeEndpointsSelected(inventory.peers, evaluatorModel)];
  const prefixViews = facts.prefixes.map((p) => ({ prefix: p.text, view: worldViewOfPrefix(p.range, facts) }));
  views.push(...prefixViews.map((p) => p.view));
  const defaultWorld = ['0.0.0.0/0', '::/0'].map((prefix) => ({ prefix, view: worldViewOfPrefix(parseCidr(prefix)!, facts) }));
  views.push(...defaultWorld.map((p) => p.view));
  const identityTable = new IdentityTable(views, facts);

  // Peer sets, computed once per rule and direction over every identity's representative.
  const evalIdentities = new Map<number, Identity>();
  const evalIdentityOf = (ci: CompiledIdentity): Identity => {
    let id = evalIdentities.get(ci.id);
    if (!id) {
      id = new Identity(evaluatorModel, ci.representative.endpoint.kind, ci.representative.endpoint.labels);
      evalIdentities.set(ci.id, id);
    }
    return id;
  };
  const peerSets = new Map<CompiledRule, Map<Direction, number[]>>();
  const allIds = identityTable.list.map((i) => i.id);
  const byId = new Map(identityTable.list.map((i) => [i.id, i]));
  const resolver: PeerResolver = {
    identitiesOf(rule, direction) {
      let perDir = peerSets.get(rule);
      if (!perDir) peerSets.set(rule, (perDir = new Map()));
      let set = perDir.get(direction);
      if (set) return set;
      if (rule.peers === null || rule.peers.some(peerSelectsEveryone)) set = [0];
      else {
        set = [];
        for (const ci of identityTable.list) {
          const ev = evalIdentityOf(ci);
          if (rule.peers.some((p) => peerSelects(p, ci.representative, ev, direction))) set.push(ci.id);
        }
      }
      perDir.set(direction, set);
      return set;
    },
    allIdentities: () => allIds,
    namedPortsOf: (id) => byId.get(id)?.representative.endpoint.namedPorts ?? NO_PORTS,
    hostIdentities: () => identityTable.list.filter((i) => i.representative.endpoint.kind === 'host').map((i) => i.id),
  };

  if (locals.length > 65_535) throw new CompileError('too-many-endpoints', `${locals.length} local endpoints, more than the 65,535 endpoint ids`);
  const ruleIds = new Map<string, number>([['[]', 0]]);
  const ruleTable: (readonly RuleRef[])[] = [[]];
  const ruleIdOf = (refs: readonly RuleRef[]): number => {
    const key = JSON.stringify(refs.map((r) => [r.kind, r.namespace, r.name, r.rule]));
    let id = ruleIds.get(key);
    if (id === undefined) {
      id = ruleTable.length;
      ruleTable.push(refs);
      ruleIds.set(key, id);
    }
    return id;
  };

  const policy: PolicyEntry[] = [];
  const endpoints: CompiledEndpoint[] = [];
  const endpointIds = new Map<string, number>();
  const pressure: EndpointPressure[] = [];
  const policiesByLabels = new Map<string, { ingress: ReturnType<typeof distilDirection>; egress: ReturnType<typeof distilDirection> }>();
  locals.forEach((pod, i) => {
    const endpointId = i + 1;
    endpointIds.set(endpointKey(pod), endpointId);
    const identity = identityTable.of({ endpoint: pod, dnsNames: [] });
    endpoints.push({
      endpointId,
      address: pod.ip,
      identity: identity.id,
      ...(pod.namespace !== undefined ? { namespace: pod.namespace } : {}),
      ...(pod.podName !== undefined ? { podName: pod.podName } : {}),
    });
    // Endpoints with the same labels and named ports have the same rows: distil once.
    const shareKey = JSON.stringify([endpointKey({ ...pod, ip: '' }), identity.id]);
    let rows = policiesByLabels.get(shareKey);
    if (!rows) {
      const ev = new Identity(evaluatorModel, pod.kind, pod.labels);
      rows = {
        ingress: distilDirection(ev.policy('ingress'), 'ingress', pod, resolver),
        egress: distilDirection(ev.policy('egress'), 'egress', pod, resolver),
      };
      policiesByLabels.set(shareKey, rows);
    }
    const count = rows.ingress.length + rows.egress.length;
    if (count > maxPerEndpoint) throw new MapPressureError(describeEndpoint(pod), count, maxPerEndpoint);
    pressure.push({ endpointId, endpoint: describeEndpoint(pod), entries: count, max: maxPerEndpoint });
    for (const direction of ['egress', 'ingress'] as const) {
      for (const r of rows[direction]) {
        policy.push({
          endpointId,
          direction,
          identity: r.identity,
          protocol: r.l4.protocol,
          port: r.l4.port,
          portPrefixLen: r.l4.protocol === 0 ? 0 : r.l4.portPrefixLen,
          deny: r.deny,
          proxy: r.proxy,
          ruleId: ruleIdOf(r.refs),
        });
      }
    }
  });
  if (policy.length > maxPerGeneration) {
    const top = [...pressure].sort((a, b) => b.entries - a.entries)[0];
    throw new MapPressureError(top ? `${top.endpoint} with ${top.entries}` : 'none', policy.length, maxPerGeneration, 'generation');
  }
  policy.sort(comparePolicyEntries);

  const ipcache = buildIpcache(identityTable, pods, inventory.peers, [...defaultWorld, ...prefixViews]);
  const maxIpcache = options.maxIpcacheEntriesPerGeneration ?? DEFAULT_MAX_IPCACHE_ENTRIES_PER_GENERATION;
  if (ipcache.length > maxIpcache) {
    throw new CompileError('ipcache-overflow', `the ipcache would hold ${ipcache.length} entries, more than the maximum of ${maxIpcache} per generation`);
  }
  return {
    tables: {
      identities: identityTable.list.map((i) => ({ id: i.id, labels: i.labels })),
      ipcache,
      endpoints,
      policy,
      ruleTable,
      pressure: pressure.sort((a, b) => b.entries - a.entries || a.endpointId - b.endpointId),
    },
    identityTable,
    facts,
    endpointIds,
    evaluatorModel,
  };
}

const NO_PORTS: readonly NamedPort[] = Object.freeze([]);

/**
 * The node endpoints (`host`, `remote-node`) among the parties that some host policy (nodeSelector spec) selects,
 * one per distinct party, sorted: they get an endpoint and a policy map like pods. Nodes no host policy selects
 * stay plain peers (nothing is enforced on them, as the reference evaluator's empty policy says).
 */
function nodeEndpointsSelected(parties: readonly PeerView[], model: CompiledModel): FlowEndpoint[] {
  if (model.nodeSpecs.length === 0) return [];
  const out = new Map<string, FlowEndpoint>();
  for (const { endpoint } of parties) {
    if (!isNodeEndpoint(endpoint.kind)) continue;
    const key = endpointKey(endpoint);
    if (out.has(key)) continue;
    const identity = new Identity(model, endpoint.kind, endpoint.labels);
    if (model.nodeSpecs.some((spec) => identity.selectedBy(spec.subject))) out.set(key, endpoint);
  }
  return [...out.entries()].sort(([a], [b]) => cmp(a, b)).map(([, e]) => e);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders policy entries by endpoint, direction (ingress first, as PALISADE_DIR_INGRESS = 0), identity, L4 key. */
export function comparePolicyEntries(a: PolicyEntry, b: PolicyEntry): number {
  return (
    a.endpointId - b.endpointId ||
    (a.direction === b.direction ? 0 : a.direction === 'ingress' ? -1 : 1) ||
    a.identity - b.identity ||
    a.protocol - b.protocol ||
    a.port - b.port ||
    keyPrefixLen({ protocol: a.protocol, port: a.port, portPrefixLen: a.portPrefixLen }) -
      keyPrefixLen({ protocol: b.protocol, port: b.port, portPrefixLen: b.portPrefixLen })
  );
}

/**
 * ipcache rows: outside prefixes first (each model prefix and the two catch-alls), then a host row for every known
 * address whose identity the prefixes would not give. One address with several parties keeps the first (pods before
 * peers, in sorted order; a later view with more DNS names replaces an earlier one of the same endpoint).
 */
function buildIpcache(
  table: IdentityTable,
  pods: readonly FlowEndpoint[],
  peers: readonly PeerView[],
  prefixViews: readonly { prefix: string; view: PeerView }[],
): IpcacheEntry[] {
  const lpm = new IpcacheLpm();
  for (const p of prefixViews) lpm.set(p.prefix, table.of(p.view).id);
  const hostRows = new Map<string, { id: number; names: number; key: string }>();
  const consider = (view: PeerView): void => {
    const ip = view.endpoint.ip;
    if (ip === '' || parseIp(ip) === null) return;
    const id = table.of(view).id;
    const prior = hostRows.get(ip);
    const key = endpointKey(view.endpoint);
    if (prior && !(prior.key === key && view.dnsNames.length > prior.names)) return;
    hostRows.set(ip, { id, names: view.dnsNames.length, key });
  };
  for (const pod of pods) consider({ endpoint: pod, dnsNames: [] });
  for (const peer of peers) consider(peer);
  for (const [ip, row] of hostRows) {
    if (lpm.lookup(ip) !== row.id) lpm.set(hostPrefix(ip), row.id);
  }
  return lpm.entries();
}

/** `a.b.c.d/32` or `x::y/128`. */
export function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

