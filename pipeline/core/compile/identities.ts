/**
 * Identity allocation: every party a flow can name gets a numeric security identity, the datapath's only view of a
 * peer. Two parties share an identity exactly when every rule of the model answers the same for both, so a lookup by
 * identity decides as the reference evaluator decides by labels and address. The identity's label set is the party's
 * own labels plus derived labels for the address-dependent facts the model asks about: `cidr:<prefix>` for each model
 * prefix holding the address, `fqdn:<selector>` for each toFQDNs selector one of its DNS names matches,
 * `palisade:service-ip=<ip>` for service cluster IPs, named ports that egress rules refer to by name, and the kind
 * (`palisade:kind=<kind>`, plus the family for outside addresses). Numbers are deterministic: reserved identities as
 * Cilium numbers them, then 256, 257… in the order of the canonical label text.
 */
import type { FlowEndpoint, EndpointKind } from '../flow/types.js';
import type { PolicyModel } from '../model/types.js';
import { FIRST_CLUSTER_IDENTITY, RESERVED_IDENTITY } from '../model/types.js';
import { formatLabel } from '../model/labels.js';
import { compileNameMatcher, type NameMatcher } from '../evaluate/fqdn-match.js';
import { formatIp, parseCidr, parseIp, type IpRange, type IpValue } from '../evaluate/ip-address.js';
import type { ServiceInfo } from '../evaluate/types.js';
import type { PeerView } from './inventory.js';
import { prefixIndexOf } from './prefix-index.js';

/** One allocated identity. */
export interface CompiledIdentity {
  readonly id: number;
  /** Canonical label text, sorted: the party's labels and the derived ones. */
  readonly labels: readonly string[];
  /** A party carrying this identity, the one the peer sets were computed on. */
  readonly representative: PeerView;
}

/** The address-dependent questions a model asks, gathered once. */
export interface AddressFacts {
  /** Every prefix of every CIDR peer (cidr and except), with whether some peer naming it matches pods. */
  readonly prefixes: readonly { readonly text: string; readonly range: IpRange; readonly podsToo: boolean }[];
  /** toFQDNs selectors by canonical text. */
  readonly fqdn: readonly { readonly text: string; readonly match: NameMatcher }[];
  /** Cluster IPs of known services. */
  readonly serviceIps: ReadonlySet<string>;
  /** `name/PROTOCOL` of named ports that egress rules refer to (resolved on the destination, the peer). */
  readonly egressPortNames: ReadonlySet<string>;
}

/** Collects the model's address-dependent questions. */
export function gatherAddressFacts(model: PolicyModel, services: readonly ServiceInfo[]): AddressFacts {
  const prefixes = new Map<string, { text: string; range: IpRange; podsToo: boolean }>();
  const fqdn = new Map<string, NameMatcher>();
  const egressPortNames = new Set<string>();
  for (const spec of model.specs) {
    for (const rule of spec.rules) {
      for (const peer of rule.peers ?? []) {
        if (peer.kind === 'cidr') {
          for (const text of [peer.cidr, ...peer.except]) {
            const range = parseCidr(text);
            if (range === null) continue;
            const seen = prefixes.get(text);
            if (seen) seen.podsToo ||= peer.matchesPods;
            else prefixes.set(text, { text, range, podsToo: peer.matchesPods });
          }
        } else if (peer.kind === 'fqdn') {
          const text = fqdnText(peer);
          if (!fqdn.has(text)) fqdn.set(text, compileNameMatcher(peer));
        }
      }
      if (rule.direction === 'egress') {
        for (const pr of rule.ports ?? []) for (const r of pr.ports) if (r.name !== undefined) egressPortNames.add(`${r.name}/${r.protocol}`);
      }
    }
  }
  const serviceIps = new Set<string>();
  for (const s of services) for (const ip of s.clusterIPs) serviceIps.add(ip);
  return {
    // Frozen: the prefix index built on first use is keyed by this array.
    prefixes: Object.freeze([...prefixes.values()].sort((a, b) => cmp(a.text, b.text))),
    fqdn: [...fqdn.entries()].sort(([a], [b]) => cmp(a, b)).map(([text, match]) => ({ text, match })),
    serviceIps,
    egressPortNames,
  };
}

/** The canonical text of a toFQDNs selector. */
export function fqdnText(peer: { readonly matchName?: string; readonly matchPattern?: string }): string {
  return peer.matchName !== undefined ? `matchName=${peer.matchName.toLowerCase()}` : `matchPattern=${(peer.matchPattern ?? '').toLowerCase()}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The address family of an endpoint (0 when it has no parseable address). */
export function familyOf(endpoint: FlowEndpoint): 4 | 6 | 0 {
  const ip = endpoint.ip === '' ? null : parseIp(endpoint.ip);
  return ip === null ? 0 : ip.family;
}

/**
 * The canonical label set of a party: what its identity is keyed by.
 * @returns sorted label texts
 */
export function identityLabelsOf(view: PeerView, facts: AddressFacts): string[] {
  const e = view.endpoint;
  const out = new Set<string>(e.labels.map(formatLabel));
  out.add(`palisade:kind=${e.kind}`);
  const ip: IpValue | null = e.ip === '' ? null : parseIp(e.ip);
  if (e.kind === 'world') out.add(`palisade:family=${ip === null ? 0 : ip.family}`);
  if (ip !== null) {
    for (const i of prefixIndexOf(facts.prefixes).containing(ip)) {
      const p = facts.prefixes[i]!;
      // Cilium CIDR peers see only outside addresses; NetworkPolicy ipBlocks see pods too.
      if (e.kind === 'world' || p.podsToo) out.add(`cidr:${p.text}`);
    }
    if (facts.serviceIps.has(e.ip)) out.add(`palisade:service-ip=${e.ip}`);
  }
  if (e.kind === 'world') {
    for (const f of facts.fqdn) if (view.dnsNames.some((n) => f.match(n))) out.add(`fqdn:${f.text}`);
  }
  for (const np of e.namedPorts ?? []) {
    if (facts.egressPortNames.has(`${np.name}/${np.protocol}`)) out.add(`palisade:port.${np.name}/${np.protocol}=${np.port}`);
  }
  return [...out].sort();
}

/** Reserved identities keyed by the exact label set that stands for them. */
const RESERVED_BY_LABELS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  const kinds: readonly (Exclude<EndpointKind, 'pod' | 'world'>)[] = [
    'host',
    'remote-node',
    'kube-apiserver',
    'health',
    'init',
    'unmanaged',
    'ingress',
  ];
  for (const k of kinds) m.set([`palisade:kind=${k}`, `reserved:${k}`].sort().join('\n'), RESERVED_IDENTITY[k]);
  m.set(['palisade:family=0', 'palisade:kind=world', 'reserved:world'].sort().join('\n'), RESERVED_IDENTITY.world);
  m.set(['palisade:family=4', 'palisade:kind=world', 'reserved:world'].sort().join('\n'), RESERVED_IDENTITY['world-ipv4']);
  m.set(['palisade:family=6', 'palisade:kind=world', 'reserved:world'].sort().join('\n'), RESERVED_IDENTITY['world-ipv6']);
  return m;
})();

/**
 * The outside-world party standing for the addresses of `range` that no longer model prefix covers: an address of
 * the range outside every longer model prefix (the range's own base when the longer ones cover it all; such a row is
 * then never the longest match and its identity does not matter).
 */
export function worldViewOfPrefix(range: IpRange, facts: AddressFacts): PeerView {
  const width = range.family === 4 ? 32 : 128;
  const inner = prefixIndexOf(facts.prefixes)
    .inside(range)
    .map((i) => facts.prefixes[i]!.range);
  // `within` holds the inner prefixes overlapping the block [lo, hi]: only those can cover it or lie inside it, so
  // each level of the descent looks at its own block's prefixes rather than all of them.
  const free = (lo: bigint, bits: number, within: readonly IpRange[]): bigint | null => {
    const hi = lo + (1n << BigInt(width - bits)) - 1n;
    const here = within.filter((r) => r.lo <= hi && r.hi >= lo);
    if (here.some((r) => r.bits <= bits && r.lo <= lo && r.hi >= hi)) return null;
    if (!here.some((r) => r.lo >= lo && r.hi <= hi)) return lo;
    if (bits >= width) return null;
    return free(lo, bits + 1, here) ?? free(lo + (1n << BigInt(width - bits - 1)), bits + 1, here);
  };
  const value = free(range.lo, range.bits, inner) ?? range.lo;
  const ip = formatIp({ family: range.family, value });
  return { endpoint: { kind: 'world', ip, labels: [{ source: 'reserved', key: 'world', value: '' }] }, dnsNames: [] };
}

/** A party's identity labels and the key they are looked up by (the labels joined by newlines). */
interface Labelled {
  readonly key: string;
  readonly labels: string[];
}

/** Deterministic identity numbering over a set of parties. */
export class IdentityTable {
  private readonly byKey = new Map<string, CompiledIdentity>();
  /**
   * Label keys already computed, per endpoint object: the compiler asks for the same parties again (endpoints,
   * ipcache) and each answer scans the model's prefixes. Outside parties' labels depend on their DNS names too, so
   * those are keyed by the names as well. Weak: replayed flows' endpoints are not kept alive.
   */
  private readonly keys = new WeakMap<FlowEndpoint, Labelled | Map<string, Labelled>>();
  readonly list: readonly CompiledIdentity[];

  /**
   * @param views every party that needs an identity (duplicates are fine)
   */
  constructor(
    views: readonly PeerView[],
    private readonly facts: AddressFacts,
  ) {
    const reps = new Map<string, { labels: string[]; view: PeerView }>();
    for (const view of views) {
      const { key, labels } = this.labelsOf(view);
      if (!reps.has(key)) reps.set(key, { labels, view });
    }
    const keys = [...reps.keys()].sort(cmp);
    let next = FIRST_CLUSTER_IDENTITY;
    const list: CompiledIdentity[] = [];
    for (const key of keys) {
      const { labels, view } = reps.get(key)!;
      const id = RESERVED_BY_LABELS.get(key) ?? next++;
      const identity: CompiledIdentity = { id, labels, representative: view };
      this.byKey.set(key, identity);
      list.push(identity);
    }
    this.list = list.sort((a, b) => a.id - b.id);
  }

  /**
   * The identity of a party.
   * @throws Error when the party was not among the views the table was built from (a compiler bug).
   */
  of(view: PeerView): CompiledIdentity {
    const key = this.labelsOf(view).key;
    const found = this.byKey.get(key);
    if (!found) throw new Error(`identity table has no identity for labels ${key.replace(/\n/g, ',')}`);
    return found;
  }

  /** The identity of a party, or undefined when it is unknown. */
  find(view: PeerView): CompiledIdentity | undefined {
    return this.byKey.get(this.labelsOf(view).key);
  }

  /** `identityLabelsOf(view)` and its key, computed once per endpoint object (and DNS names). */
  private labelsOf(view: PeerView): Labelled {
    const e = view.endpoint;
    const seen = this.keys.get(e);
    // Only outside parties' labels depend on DNS names (`fqdn:` labels).
    if (e.kind !== 'world') {
      if (seen !== undefined && !(seen instanceof Map)) return seen;
      const computed = this.compute(view);
      this.keys.set(e, computed);
      return computed;
    }
    // Length-prefixed names: unambiguous whatever characters a name holds.
    const names = view.dnsNames.map((n) => `${n.length}:${n}`).join('');
    const byNames = seen instanceof Map ? seen : new Map<string, Labelled>();
    if (byNames !== seen) this.keys.set(e, byNames);
    let computed = byNames.get(names);
    if (computed === undefined) {
      computed = this.compute(view);
      byNames.set(names, computed);
    }
    return computed;
  }

  private compute(view: PeerView): Labelled {
    const labels = identityLabelsOf(view, this.facts);
    return { key: labels.join('\n'), labels };
  }
}
