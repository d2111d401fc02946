/**
 * Semantic checks on Kubernetes NetworkPolicy beyond its structure, as the API server validates them, plus a
 * warning for rules that `policyTypes` makes inert.
 */
import type { YNode } from '../load/ynode.js';
import { field, items, has, keyPos, scalarString } from '../load/ynode.js';
import { checkCidrSet } from './check-cilium.js';
import { errorAt, warningAt, type Diagnostic } from './diagnostic.js';

/** Checks `spec` of a NetworkPolicy. */
export function checkNetworkPolicySpec(spec: YNode, out: Diagnostic[]): void {
  if (spec.kind !== 'map') return;
  const types = items(field(spec, 'policyTypes')).map(scalarString);
  const explicitTypes = has(spec, 'policyTypes');
  for (const [dir, peersKey, typeName] of [
    ['ingress', 'from', 'Ingress'],
    ['egress', 'to', 'Egress'],
  ] as const) {
    const rules = items(field(spec, dir));
    if (explicitTypes && rules.length > 0 && !types.includes(typeName)) {
      out.push(
        warningAt('knp-rules-ignored', `spec.${dir} has rules but policyTypes does not list ${typeName}: Kubernetes ignores them`, keyPos(spec, dir)),
      );
    }
    rules.forEach((rule, i) => {
      items(field(rule, peersKey)).forEach((peer, j) => {
        const where = `spec.${dir}[${i}].${peersKey}[${j}]`;
        if (peer.kind !== 'map') return;
        const hasIp = has(peer, 'ipBlock');
        const hasSel = has(peer, 'podSelector') || has(peer, 'namespaceSelector');
        if (!hasIp && !hasSel) {
          out.push(errorAt('knp-peer-empty', `${where} must set podSelector, namespaceSelector or ipBlock`, peer.pos));
        } else if (hasIp && hasSel) {
          out.push(errorAt('knp-ipblock-exclusive', `${where}: ipBlock cannot be combined with podSelector or namespaceSelector`, keyPos(peer, 'ipBlock')));
        }
        const ipBlock = field(peer, 'ipBlock');
        if (ipBlock) checkCidrSet(ipBlock, out, true);
      });
      items(field(rule, 'ports')).forEach((p, j) => {
        const endNode = field(p, 'endPort');
        if (endNode?.kind !== 'scalar' || typeof endNode.value !== 'number') return;
        const portNode = field(p, 'port');
        const where = `spec.${dir}[${i}].ports[${j}]`;
        if (portNode?.kind !== 'scalar' || typeof portNode.value !== 'number') {
          out.push(
            errorAt(
              'knp-endport-needs-port',
              portNode === undefined ? `${where}.endPort needs a numeric port` : `${where}.endPort needs a numeric port, not the named port '${scalarString(portNode)}'`,
              endNode.pos,
            ),
          );
        } else if (endNode.value < portNode.value) {
          out.push(errorAt('port-range-inverted', `${where}.endPort ${endNode.value} is below port ${portNode.value}`, endNode.pos));
        }
      });
    });
  }
}
