/**
 * CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (validated) → model specs. Namespace scoping is made
 * explicit: a CNP's subject gets its namespace; its endpoint peers too unless they already decide the namespace;
 * a CCNP's endpoint peers without a namespace match pods of every namespace.
 */
import type { YNode } from '../load/ynode.js';
import { field, items, scalarString, toPlain } from '../load/ynode.js';
import { ruleId } from './build-common.js';
import { buildCiliumPortRule, buildIcmps } from './build-ports.js';
import { ANY_NAMESPACE, inNamespace, makeSelector, namesNamespace, selectorRequirements } from './build-selector.js';
import { canonicalPrefix } from './cidr.js';
import { NAMESPACE_KEY } from './labels.js';
import type { Entity, Peer, PolicyRef, PolicyRule, PolicySpec, Selector } from './types.js';

/** Peer fields per direction, in the order peers are emitted. */
const PEER_FIELDS = {
  ingress: ['fromEndpoints', 'fromCIDR', 'fromCIDRSet', 'fromEntities', 'fromNodes', 'fromGroups'],
  egress: ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toNodes', 'toGroups', 'toServices', 'toFQDNs'],
} as const;

interface Scope {
  readonly ref: PolicyRef;
  readonly key: string;
  /** The policy namespace for a CNP, null for a CCNP. */
  readonly namespace: string | null;
}

/** Builds the specs of one validated Cilium policy object (`spec` first as index 0, then `specs`). */
export function buildCiliumSpecs(root: YNode, ref: PolicyRef, key: string): PolicySpec[] {
  const scope: Scope = { ref, key, namespace: ref.kind === 'CiliumNetworkPolicy' ? ref.namespace : null };
  const blocks: YNode[] = [];
  const spec = field(root, 'spec');
  if (spec) blocks.push(spec);
  blocks.push(...items(field(root, 'specs')));
  return blocks.map((block, i) => buildBlock(block, i, scope));
}

function buildBlock(block: YNode, specIndex: number, scope: Scope): PolicySpec {
  const nodeSel = field(block, 'nodeSelector');
  const subjectNode = nodeSel ?? field(block, 'endpointSelector');
  const namespaced = !nodeSel && scope.namespace !== null;
  // Cilium sets matchLabels['k8s:io.kubernetes.pod.namespace'] to the policy's namespace, replacing what the author
  // wrote under exactly that key ("illegal namespace match"); other spellings of the key stay and are ANDed.
  const reqs = selectorRequirements(subjectNode, 'cilium', undefined, namespaced ? isK8sNamespaceKey : undefined);
  if (namespaced) reqs.push(inNamespace(scope.namespace!));
  const subject = makeSelector(reqs, (subjectNode ?? block).pos);

  const rules: PolicyRule[] = [];
  for (const [list, direction, deny] of [
    ['ingress', 'ingress', false],
    ['ingressDeny', 'ingress', true],
    ['egress', 'egress', false],
    ['egressDeny', 'egress', true],
  ] as const) {
    items(field(block, list)).forEach((r, i) => rules.push(buildRule(r, direction, deny, ruleId(scope.key, specIndex, direction, deny, i), scope)));
  }
  const edd = field(block, 'enableDefaultDeny');
  const has = (a: string, b: string): boolean => items(field(block, a)).length > 0 || items(field(block, b)).length > 0;
  const enabled = (dir: string): boolean => {
    const v = field(edd, dir);
    return !(v?.kind === 'scalar' && v.value === false);
  };
  const description = scalarString(field(block, 'description'));
  const out: PolicySpec = {
    policy: scope.ref,
    specIndex,
    subjectKind: nodeSel ? 'nodes' : 'endpoints',
    subject,
    defaultDeny: { ingress: has('ingress', 'ingressDeny') && enabled('ingress'), egress: has('egress', 'egressDeny') && enabled('egress') },
    rules,
    pos: block.pos,
    ...(description !== undefined ? { description } : {}),
  };
  return out;
}

function isK8sNamespaceKey(source: string, key: string): boolean {
  return source === 'k8s' && key === NAMESPACE_KEY;
}

function buildRule(rule: YNode, direction: 'ingress' | 'egress', deny: boolean, id: string, scope: Scope): PolicyRule {
  const present = PEER_FIELDS[direction].filter((k) => field(rule, k) !== undefined);
  const toPorts = field(rule, 'toPorts');
  const icmps = field(rule, 'icmps');
  let peers: Peer[] | null;
  if (present.length > 0) {
    peers = present.flatMap((k) => buildPeers(k, field(rule, k)!, scope));
  } else {
    // No peer written: with ports or ICMP it means any peer; a bare `{}` selects nothing.
    peers = toPorts || icmps ? null : [];
  }
  return {
    id,
    direction,
    action: deny ? 'deny' : 'allow',
    peers,
    ports: toPorts ? items(toPorts).map(buildCiliumPortRule) : null,
    icmps: icmps ? buildIcmps(icmps) : null,
    pos: rule.pos,
  };
}

function endpointSelector(node: YNode, scope: Scope): Selector {
  const reqs = selectorRequirements(node, 'cilium');
  if (!namesNamespace(reqs)) reqs.push(scope.namespace !== null ? inNamespace(scope.namespace) : ANY_NAMESPACE);
  return makeSelector(reqs, node.pos);
}

function buildPeers(fieldName: string, list: YNode, scope: Scope): Peer[] {
  const out: Peer[] = [];
  for (const item of items(list)) {
    switch (fieldName) {
      case 'fromEndpoints':
      case 'toEndpoints':
        out.push({ kind: 'endpoints', selector: endpointSelector(item, scope), pos: item.pos });
        break;
      case 'fromNodes':
      case 'toNodes':
        out.push({ kind: 'nodes', selector: makeSelector(selectorRequirements(item, 'cilium'), item.pos), pos: item.pos });
        break;
      case 'fromCIDR':
      case 'toCIDR': {
        const c = canonicalPrefix(scalarString(item) ?? '');
        if (c) out.push({ kind: 'cidr', cidr: c, except: [], matchesPods: false, pos: item.pos });
        break;
      }
      case 'fromCIDRSet':
      case 'toCIDRSet': {
        const c = canonicalPrefix(scalarString(field(item, 'cidr')) ?? '');
        if (c) {
          const except = [...new Set(items(field(item, 'except')).map((e) => canonicalPrefix(scalarString(e) ?? '')).filter((e): e is string => !!e))].sort();
          out.push({ kind: 'cidr', cidr: c, except, matchesPods: false, pos: item.pos });
        } else {
          // CIDR groups are resolved by the cluster (CiliumCIDRGroup objects): carried, not matched offline.
          out.push({ kind: 'group', raw: toPlain(item), pos: item.pos });
        }
        break;
      }
      case 'fromEntities':
      case 'toEntities': {
        const e = scalarString(item) as Entity | undefined;
        if (e) out.push({ kind: 'entities', entities: [e], pos: item.pos });
        break;
      }
      case 'fromGroups':
      case 'toGroups':
        out.push({ kind: 'group', raw: toPlain(item), pos: item.pos });
        break;
      case 'toServices': {
        const svc = field(item, 'k8sService');
        const sel = field(item, 'k8sServiceSelector');
        // Without a namespace a service reference matches services of that name or labels in every namespace,
        // in a CiliumNetworkPolicy too (Cilium's serviceRefMatches / serviceSelectorMatches).
        const ns = scalarString(field(svc ?? sel, 'namespace'));
        if (svc) {
          const name = scalarString(field(svc, 'serviceName'));
          out.push({ kind: 'service', ...(name !== undefined ? { name } : {}), ...(ns !== undefined ? { namespace: ns } : {}), pos: item.pos });
        } else if (sel) {
          const selNode = field(sel, 'selector');
          const selector = makeSelector(selectorRequirements(selNode, 'cilium'), (selNode ?? sel).pos);
          out.push({ kind: 'service', selector, ...(ns !== undefined ? { namespace: ns } : {}), pos: item.pos });
        }
        break;
      }
      case 'toFQDNs': {
        const name = scalarString(field(item, 'matchName'));
        const pattern = scalarString(field(item, 'matchPattern'));
        if (name !== undefined) out.push({ kind: 'fqdn', matchName: name.toLowerCase().replace(/\.$/, ''), pos: item.pos });
        else if (pattern !== undefined) out.push({ kind: 'fqdn', matchPattern: pattern.toLowerCase().replace(/\.$/, ''), pos: item.pos });
        break;
      }
    }
  }
  return mergeEntities(out);
}

/** Entities written as separate list items become one sorted, de-duplicated entities peer (at the first one). */
function mergeEntities(peers: Peer[]): Peer[] {
  const ents = peers.filter((p): p is Extract<Peer, { kind: 'entities' }> => p.kind === 'entities');
  if (ents.length <= 1) return peers;
  const merged: Peer = { kind: 'entities', entities: [...new Set(ents.flatMap((p) => p.entities))].sort(), pos: ents[0]!.pos };
  return [merged, ...peers.filter((p) => p.kind !== 'entities')];
}
