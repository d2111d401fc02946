/**
 * Which identities a rule's peer selects, decided on each identity's representative party with the reference
 * evaluator's compiled peers, so that the compiled tables select exactly what the evaluator matches. The answer is
 * the same for every party of an identity because identities are keyed by every fact these tests read.
 */
import type { Direction } from '../model/types.js';
import type { EndpointKind } from '../flow/types.js';
import type { CompiledPeer } from '../evaluate/compile-model.js';
import type { Identity } from '../evaluate/identity-cache.js';
import { peerMatches, PeerFacts } from '../evaluate/peer-match.js';
import type { PeerView } from './inventory.js';

/**
 * Does `peer` match the party `view` (whose evaluator identity is `identity`) as the peer of a rule in `direction`?
 * The reference evaluator's own peer matching (pipeline/core/evaluate/peer-match.ts), with the view's DNS names.
 */
export function peerSelects(peer: CompiledPeer, view: PeerView, identity: Identity, direction: Direction): boolean {
  return peerMatches(peer, new PeerFacts().setPeer(view.endpoint, identity, view.dnsNames), direction);
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
