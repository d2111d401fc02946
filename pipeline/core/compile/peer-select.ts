/**
 * Which identities a rule's peer selects, decided on each identity's representative party with the reference
 * evaluator's compiled peers, so that the compiled tables select exactly what the evaluator matches. The answer is
 * the same for every party of an identity because identities are keyed by every fact these tests read.
 */
import type { Direction } from '../model/types.js';
import type { EndpointKind } from '../flow/types.js';
import type { CompiledPeer } from '../evaluate/compile-model.js';
import type { Identity } from '../evaluate/identity-cache.js';
import { parseIp, rangeContains } from '../evaluate/ip-address.js';
import type { PeerView } from './inventory.js';

/**
 * Does `peer` match the party `view` (whose evaluator identity is `identity`) as the peer of a rule in `direction`?
 * Mirrors the reference evaluator's peer matching (pipeline/core/evaluate/evaluator.ts).
 */
export function peerSelects(peer: CompiledPeer, view: PeerView, identity: Identity, direction: Direction): boolean {
  const e = view.endpoint;
  switch (peer.kind) {
    case 'endpoints':
      if (e.kind !== 'pod' && !peer.reservedOk) return false;
      return identity.selectedBy(peer.selector);
    case 'entities': {
      const ip = e.ip === '' ? null : parseIp(e.ip);
      const family = ip === null ? 0 : ip.family;
      return peer.tests.some((t) => t(e.kind, family));
    }
    case 'cidr': {
      if (peer.range === null) return false;
      if (!peer.matchesPods && e.kind !== 'world') return false;
      const ip = e.ip === '' ? null : parseIp(e.ip);
      if (ip === null || !rangeContains(peer.range, ip)) return false;
      return !peer.except.some((x) => rangeContains(x, ip));
    }
    case 'fqdn':
      if (direction !== 'egress' || e.kind !== 'world' || e.ip === '') return false;
      return view.dnsNames.some((n) => peer.match(n));
    case 'nodes':
      if (e.kind !== 'host' && e.kind !== 'remote-node') return false;
      return identity.selectedBy(peer.selector);
    case 'service':
      for (const t of peer.targets) {
        if (e.ip !== '' && t.clusterIPs.has(e.ip)) return true;
        if (e.kind !== 'pod' || t.podSelector === null || identity.namespace !== t.namespace) continue;
        let all = true;
        for (const [key, value] of t.podSelector) {
          if (!identity.labels.some((l) => l.key === key && l.value === value && l.source === 'k8s')) {
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

const KINDS: readonly EndpointKind[] = ['pod', 'host', 'remote-node', 'world', 'kube-apiserver', 'health', 'init', 'unmanaged', 'ingress'];

/**
 * True when the peer matches every party whatever it is (entities covering every kind and family, e.g. `all`, or
 * `world` with `cluster`): compiled as identity 0, which the datapath matches for any peer.
 */
export function peerSelectsEveryone(peer: CompiledPeer): boolean {
  if (peer.kind !== 'entities') return false;
  return KINDS.every((kind) => ([4, 6, 0] as const).every((family) => peer.tests.some((t) => t(kind, family))));
}
