/**
 * Kubernetes NetworkPolicy (validated) → one model spec, keeping its own semantics explicit: isolation comes only
 * from policyTypes (→ `defaultDeny`), ipBlock matches pod IPs too (`matchesPods: true`), protocol defaults to TCP,
 * named ports keep their name, a missing namespaceSelector means the policy's namespace and `{}` any namespace.
 * Rules of a direction not in policyTypes are ignored, as Kubernetes does.
 */
import type { YNode } from '../load/ynode.js';
import { field, items, scalarString } from '../load/ynode.js';
import { ruleId } from './build-common.js';
import { buildNetworkPolicyPortRule } from './build-ports.js';
import { ANY_NAMESPACE, inNamespace, makeSelector, selectorRequirements } from './build-selector.js';
import { canonicalPrefix } from './cidr.js';
import { NAMESPACE_LABELS_PREFIX } from './labels.js';
import type { Peer, PolicyRef, PolicyRule, PolicySpec } from './types.js';

/** The effective policyTypes: as written, or Ingress plus Egress when `spec.egress` has at least one rule. */
export function effectivePolicyTypes(spec: YNode): { ingress: boolean; egress: boolean } {
  const written = field(spec, 'policyTypes');
  if (written) {
    const types = items(written).map(scalarString);
    return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  }
  return { ingress: true, egress: items(field(spec, 'egress')).length > 0 };
}

/** Builds the single spec of a validated NetworkPolicy in namespace `ref.namespace`. */
export function buildNetworkPolicySpec(root: YNode, ref: PolicyRef, key: string): PolicySpec {
  const ns = ref.namespace ?? 'default';
  const spec = field(root, 'spec')!;
  const podSel = field(spec, 'podSelector');
  const subject = makeSelector([...selectorRequirements(podSel, 'k8s'), inNamespace(ns)], (podSel ?? spec).pos);
  const types = effectivePolicyTypes(spec);
  const rules: PolicyRule[] = [];
  for (const [dir, peersKey] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    if (!types[dir]) continue;
    items(field(spec, dir)).forEach((r, i) => {
      const peerList = items(field(r, peersKey));
      const portList = field(r, 'ports');
      rules.push({
        id: ruleId(key, 0, dir, false, i),
        direction: dir,
        action: 'allow',
        // Empty or missing from/to and ports match everything.
        peers: peerList.length === 0 ? null : peerList.map((p) => buildPeer(p, ns)),
        ports: portList && items(portList).length > 0 ? [buildNetworkPolicyPortRule(portList)] : null,
        icmps: null,
        pos: r.pos,
      });
    });
  }
  return { policy: ref, specIndex: 0, subjectKind: 'endpoints', subject, defaultDeny: types, rules, pos: spec.pos };
}

function buildPeer(peer: YNode, ns: string): Peer {
  const ipBlock = field(peer, 'ipBlock');
  if (ipBlock) {
    const except = [...new Set(items(field(ipBlock, 'except')).map((e) => canonicalPrefix(scalarString(e) ?? '')).filter((e): e is string => !!e))].sort();
    return { kind: 'cidr', cidr: canonicalPrefix(scalarString(field(ipBlock, 'cidr')) ?? '') ?? '', except, matchesPods: true, pos: peer.pos };
  }
  const nsSel = field(peer, 'namespaceSelector');
  const reqs = selectorRequirements(field(peer, 'podSelector'), 'k8s');
  if (nsSel) {
    reqs.push(...selectorRequirements(nsSel, 'k8s', (k) => NAMESPACE_LABELS_PREFIX + k), ANY_NAMESPACE);
  } else {
    reqs.push(inNamespace(ns));
  }
  return { kind: 'endpoints', selector: makeSelector(reqs, peer.pos), pos: peer.pos };
}
