/**
 * Rule peer matching: does a compiled peer (endpoint selector, entities, CIDR, FQDN, nodes, service) select the party
 * at the other end of a rule? Written once and used by both the reference evaluator (per flow) and the table
 * compiler (per identity), so that compiled tables select exactly what the evaluator matches.
 */
import type { Direction } from '../model/types.js';
import type { FlowEndpoint } from '../flow/types.js';
import type { CompiledPeer } from './compile-model.js';
import type { Identity } from './identity-cache.js';
import { ipv4Number, parseIp, rangeContains, type IpValue } from './ip-address.js';

const NO_NAMES: readonly string[] = [];

/**
 * What peer matching reads about the peer: the endpoint, its identity, its address (parsed lazily, once) and the
 * DNS names learned for that address. The evaluator keeps one instance per direction and re-points it for every flow
 * (`setPeer`), which keeps the hot path free of allocation.
 */
export class PeerFacts {
  peer!: FlowEndpoint;
  peerIdentity!: Identity;
  private names: Iterable<string> = NO_NAMES;
  private peerIpValue: IpValue | null | undefined;
  private peerIp4Value = -2;

  /** @param ipCache parsed IPv6 addresses, shared between instances (bounded here) */
  constructor(private readonly ipCache: Map<string, IpValue | null> = new Map()) {}

  /**
   * Points the facts at a peer.
   * @param dnsNames normalised DNS names known for the peer's address (subclasses may look them up instead)
   */
  setPeer(peer: FlowEndpoint, peerIdentity: Identity, dnsNames: Iterable<string> = NO_NAMES): this {
    this.peer = peer;
    this.peerIdentity = peerIdentity;
    this.names = dnsNames;
    this.peerIpValue = undefined;
    this.peerIp4Value = -2;
    return this;
  }

  /** The DNS names learned for the peer's address. */
  peerDnsNames(): Iterable<string> {
    return this.names;
  }

  /** The peer address as an IPv4 number, -1 when it is not IPv4. */
  peerIp4(): number {
    if (this.peerIp4Value === -2) this.peerIp4Value = ipv4Number(this.peer.ip);
    return this.peerIp4Value;
  }

  /** The peer address parsed, null when it has none (or it does not parse). */
  peerIp(): IpValue | null {
    if (this.peerIpValue !== undefined) return this.peerIpValue;
    const text = this.peer.ip;
    // IPv4 parses faster than a map lookup; IPv6 addresses are cached.
    let v = text.indexOf(':') < 0 ? (text === '' ? null : parseIp(text)) : this.ipCache.get(text);
    if (v === undefined) {
      v = parseIp(text);
      if (this.ipCache.size > 50_000) this.ipCache.clear();
      this.ipCache.set(text, v);
    }
    this.peerIpValue = v;
    return v;
  }
}

/**
 * Does compiled peer `p` select the peer described by `facts`, for a rule of `direction`?
 * @returns true when it does; `nothing` peers and unresolvable ones never match
 */
export function peerMatches(p: CompiledPeer, facts: PeerFacts, direction: Direction): boolean {
  const peer = facts.peer;
  switch (p.kind) {
    case 'endpoints':
      // Pod selectors pick pods; reserved identities only when the selector names a reserved: label.
      if (peer.kind !== 'pod' && !p.reservedOk) return false;
      return facts.peerIdentity.selectedBy(p.selector);
    case 'entities': {
      const family = peer.ip === '' ? 0 : peer.ip.includes(':') ? 6 : 4;
      for (const t of p.tests) if (t(peer.kind, family)) return true;
      return false;
    }
    case 'cidr': {
      const range = p.range;
      if (range === null) return false;
      if (!p.matchesPods && peer.kind !== 'world') return false;
      if (range.family === 4) {
        // IPv4 with plain numbers: no BigInt per flow.
        const v = facts.peerIp4();
        if (v < 0 || v < range.lo4 || v > range.hi4) return false;
        for (const e of p.except) if (e.family === 4 && v >= e.lo4 && v <= e.hi4) return false;
        return true;
      }
      const ip = facts.peerIp();
      if (ip === null || !rangeContains(range, ip)) return false;
      for (const e of p.except) if (rangeContains(e, ip)) return false;
      return true;
    }
    case 'fqdn': {
      // Learned addresses become world (CIDR) identities, like Cilium's; egress only.
      if (direction !== 'egress' || peer.kind !== 'world' || peer.ip === '') return false;
      for (const name of facts.peerDnsNames()) if (p.match(name)) return true;
      return false;
    }
    case 'nodes':
      if (peer.kind !== 'host' && peer.kind !== 'remote-node') return false;
      return facts.peerIdentity.selectedBy(p.selector);
    case 'service':
      for (const t of p.targets) {
        if (peer.ip !== '' && t.clusterIPs.has(peer.ip)) return true;
        if (peer.kind !== 'pod' || t.podSelector === null || facts.peerIdentity.namespace !== t.namespace) continue;
        let all = true;
        for (const [key, value] of t.podSelector) {
          if (!facts.peerIdentity.labels.some((l) => l.key === key && l.value === value && l.source === 'k8s')) {
            all = false;
            break;
          }
        }
        if (all) return true;
      }
      return false;
    case 'nothing':
      return false;
  }
}
