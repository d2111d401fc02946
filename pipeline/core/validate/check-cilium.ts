/**
 * Semantic checks on CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy rule blocks: what Cilium's own rule
 * sanitiser enforces beyond the CRD schema, applied to EVERY block of `specs` (Cilium only checks the last one),
 * plus warnings for legal but suspicious rules. Written defensively: it runs on documents that may also have
 * structural errors, and simply skips parts whose shape is wrong.
 */
import type { YMap, YNode } from '../load/ynode.js';
import { field, items, has, keyPos, scalarString } from '../load/ynode.js';
import { parsePrefix, prefixContains } from '../model/cidr.js';
import { errorAt, warningAt, type Diagnostic } from './diagnostic.js';
import { checkRe2 } from './value-checks.js';
import { PROTOCOLS } from './cilium-schema.js';
import { expandProtocol } from '../model/build-ports.js';
import { resolveIcmpType } from '../model/icmp-types.js';
import { checkSubjectNamespace } from './check-subject-namespace.js';

export type CiliumKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

const PROTOCOL_LIST: readonly string[] = PROTOCOLS;
const INGRESS_PEERS = ['fromEndpoints', 'fromCIDR', 'fromCIDRSet', 'fromEntities', 'fromNodes', 'fromGroups'] as const;
const EGRESS_PEERS = ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toNodes', 'toGroups', 'toServices', 'toFQDNs'] as const;
const DIRECTIONS = ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const;
type DirectionKey = (typeof DIRECTIONS)[number];

/**
 * Checks one rule block (`spec` or `specs[i]`); `path` is its field path for messages, `namespace` the policy's
 * namespace (null for a cluster-wide policy).
 */
export function checkCiliumRuleBlock(block: YNode, kind: CiliumKind, namespace: string | null, path: string, out: Diagnostic[]): void {
  if (block.kind !== 'map') return;
  const hasEndpoint = has(block, 'endpointSelector');
  const hasNode = has(block, 'nodeSelector');
  const endpointSelector = field(block, 'endpointSelector');
  if (kind === 'CiliumNetworkPolicy' && namespace !== null && endpointSelector) checkSubjectNamespace(endpointSelector, namespace, `${path}.endpointSelector`, out);
  if (hasEndpoint && hasNode) {
    out.push(errorAt('subject-selector', `${path} has both endpointSelector and nodeSelector; exactly one is allowed`, keyPos(block, 'nodeSelector')));
  } else if (!hasEndpoint && !hasNode) {
    out.push(errorAt('subject-selector', `${path} needs exactly one of endpointSelector or nodeSelector`, block.pos));
  }
  if (hasNode && kind === 'CiliumNetworkPolicy') {
    out.push(
      errorAt('node-selector-in-cnp', `${path}.nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy (host policies are cluster-wide)`, keyPos(block, 'nodeSelector')),
    );
  }
  if (!DIRECTIONS.some((d) => has(block, d))) {
    out.push(errorAt('rule-no-direction', `${path} needs at least one of ingress, ingressDeny, egress or egressDeny`, block.pos));
  }
  for (const dir of DIRECTIONS) {
    items(field(block, dir)).forEach((rule, i) => {
      if (rule.kind === 'map') checkRule(rule, dir, `${path}.${dir}[${i}]`, hasNode && !hasEndpoint, out);
    });
  }
}

function checkRule(rule: YMap, dir: DirectionKey, path: string, hostPolicy: boolean, out: Diagnostic[]): void {
  const ingress = dir === 'ingress' || dir === 'ingressDeny';
  const deny = dir.endsWith('Deny');
  const peerKeys: readonly string[] = ingress ? INGRESS_PEERS : EGRESS_PEERS;

  // One peer kind per rule (Cilium: "combining X and Y is not supported").
  const nonEmpty = peerKeys.filter((k) => {
    const v = field(rule, k);
    return v !== undefined && !(v.kind === 'seq' && v.items.length === 0);
  });
  if (nonEmpty.length > 1) {
    out.push(
      errorAt(
        'peer-kinds-mixed',
        `${path} combines ${nonEmpty[0]} and ${nonEmpty[1]}; a rule may use only one kind of peer (write two rules)`,
        keyPos(rule, nonEmpty[1]!),
      ),
    );
  }
  const emptyLists = peerKeys.filter((k) => {
    const v = field(rule, k);
    return v?.kind === 'seq' && v.items.length === 0;
  });
  if (nonEmpty.length === 0 && emptyLists.length > 0) {
    out.push(
      warningAt(
        'peer-empty',
        `${path}.${emptyLists[0]} is an empty list: it selects no peer, so this rule ${deny ? 'denies' : 'allows'} nothing (omit it to match any peer)`,
        keyPos(rule, emptyLists[0]!),
      ),
    );
  }

  // except must lie inside its own cidr; host bits are suspicious.
  for (const k of ingress ? ['fromCIDRSet'] : ['toCIDRSet']) {
    for (const set of items(field(rule, k))) checkCidrSet(set, out);
  }
  for (const k of ingress ? ['fromCIDR', 'fromCIDRSet'] : ['toCIDR', 'toCIDRSet']) {
    for (const c of items(field(rule, k))) {
      const node = c.kind === 'map' ? field(c, 'cidr') : c;
      const text = scalarString(node);
      const p = text !== undefined ? parsePrefix(text) : undefined;
      if (p?.hostBitsSet && node) {
        out.push(warningAt('cidr-host-bits', `'${text}' has bits set beyond its /${p.bits} prefix; it means the whole prefix`, node.pos));
      }
    }
  }

  const toPorts = field(rule, 'toPorts');
  const icmps = field(rule, 'icmps');
  if (toPorts && icmps) {
    out.push(errorAt('icmps-with-toports', `${path} has both icmps and toPorts; put ICMP in a separate rule`, keyPos(rule, 'icmps')));
  }
  if (toPorts && items(field(rule, 'toServices')).length > 0) {
    out.push(
      warningAt(
        'services-with-toports',
        `${path} combines toServices and toPorts: the ports are compared with the backend's port after service translation (the Service's targetPort), not the service port; Cilium before 1.17 rejects this combination`,
        keyPos(rule, 'toPorts'),
      ),
    );
  }
  items(toPorts).forEach((pr, i) => {
    if (pr.kind !== 'map') return;
    checkPortRule(pr, ingress, `${path}.toPorts[${i}]`, out);
    const rules = field(pr, 'rules');
    if (hostPolicy && rules) {
      out.push(errorAt('l7-host-policy', `${path}.toPorts[${i}].rules: host policies (nodeSelector) do not support L7 rules`, keyPos(pr, 'rules')));
    }
  });
  items(icmps).forEach((entry, i) => {
    items(field(entry, 'fields')).forEach((f, j) => checkIcmpField(f, `${path}.icmps[${i}].fields[${j}]`, out));
  });

  if (!deny && !toPorts && !icmps && allowsWorld(rule, ingress)) {
    out.push(
      warningAt(
        'world-all-ports',
        ingress
          ? `${path} allows traffic from outside the cluster (world) on every port and protocol; restrict it with toPorts`
          : `${path} allows traffic to anywhere outside the cluster (world) on every port and protocol; restrict it with toPorts`,
        rule.pos,
      ),
    );
  }
}

function allowsWorld(rule: YMap, ingress: boolean): boolean {
  const entities = items(field(rule, ingress ? 'fromEntities' : 'toEntities')).map(scalarString);
  if (entities.includes('world') || entities.includes('all')) return true;
  const cidrs = [
    ...items(field(rule, ingress ? 'fromCIDR' : 'toCIDR')).map(scalarString),
    ...items(field(rule, ingress ? 'fromCIDRSet' : 'toCIDRSet')).map((s) => (field(s, 'except') ? undefined : scalarString(field(s, 'cidr')))),
  ];
  return cidrs.some((c) => {
    const p = c !== undefined ? parsePrefix(c) : undefined;
    return p !== undefined && p.bits === 0;
  });
}

/** `except` entries inside their own `cidr` (same family, at least as long a prefix). */
export function checkCidrSet(set: YNode, out: Diagnostic[], strict = false): void {
  const cidrText = scalarString(field(set, 'cidr'));
  const outer = cidrText !== undefined ? parsePrefix(cidrText) : undefined;
  if (!outer) return;
  for (const ex of items(field(set, 'except'))) {
    const text = scalarString(ex);
    const inner = text !== undefined ? parsePrefix(text) : undefined;
    if (!inner) continue;
    if (!prefixContains(outer, inner) || (strict && inner.bits === outer.bits)) {
      out.push(errorAt('cidr-except-outside', `except ${text} is not ${strict ? 'strictly ' : ''}inside its cidr ${cidrText}`, ex.pos));
    }
  }
}

function checkPortRule(pr: YMap, ingress: boolean, path: string, out: Diagnostic[]): void {
  const ports = items(field(pr, 'ports'));
  ports.forEach((p, i) => {
    checkPortRange(p, `${path}.ports[${i}]`, out);
    // Port-less protocols (VRRP, GRE, ESP...) need no port; TCP, UDP, SCTP and ANY do.
    const proto = scalarString(field(p, 'protocol')) ?? 'ANY';
    if (p.kind === 'map' && !has(p, 'port') && ['TCP', 'UDP', 'SCTP', 'ANY'].includes(proto)) {
      out.push(errorAt('port-missing', `${path}.ports[${i}] needs a port ("0" means every port)`, p.pos));
    }
  });

  const rules = field(pr, 'rules');
  const listener = field(pr, 'listener');
  if (listener && ingress) out.push(errorAt('listener-ingress', `${path}.listener: listeners are only allowed on egress`, keyPos(pr, 'listener')));
  if (listener && rules) out.push(errorAt('listener-l7', `${path}.listener cannot be combined with L7 rules`, keyPos(pr, 'listener')));
  if (items(field(pr, 'serverNames')).length > 0 && rules && !has(pr, 'terminatingTLS')) {
    out.push(errorAt('server-names-l7', `${path}: serverNames with L7 rules need terminatingTLS`, keyPos(pr, 'serverNames')));
  }
  if (!rules || rules.kind !== 'map') return;
  const http = field(rules, 'http');
  const dns = field(rules, 'dns');
  if (!http && !dns) return;
  if (dns && ingress) {
    out.push(errorAt('l7-dns-ingress', `${path}.rules.dns: DNS rules are only supported on egress`, keyPos(rules, 'dns')));
  }
  const l7Name = dns ? 'DNS' : 'HTTP';
  if (ports.length === 0) {
    out.push(errorAt('l7-port-zero', `${path}: ${l7Name} rules need an explicit, non-zero port in ports`, keyPos(pr, 'rules')));
  }
  for (const p of ports) {
    const portText = scalarString(field(p, 'port'));
    const end = field(p, 'endPort');
    if (dns && end?.kind === 'scalar' && typeof end.value === 'number' && portText !== undefined && /^[0-9]+$/.test(portText) && end.value > Number(portText)) {
      out.push(errorAt('l7-dns-port-range', 'DNS rules do not support port ranges (endPort)', end.pos));
    }
    if (portText === undefined || portText === '0') {
      out.push(errorAt('l7-port-zero', `${l7Name} rules need a non-zero port (port ${portText ?? 'is missing'})`, (field(p, 'port') ?? p).pos));
    }
    const proto = scalarString(field(p, 'protocol')) ?? 'ANY';
    const ok = dns ? proto === 'TCP' || proto === 'UDP' || proto === 'ANY' : proto === 'TCP';
    if (!ok) {
      out.push(
        errorAt(
          'l7-protocol',
          dns
            ? `DNS rules need protocol UDP, TCP or ANY, not ${proto}`
            : `HTTP rules need protocol TCP${proto === 'ANY' ? ' (an omitted protocol means ANY)' : `, not ${proto}`}`,
          (field(p, 'protocol') ?? p).pos,
        ),
      );
    }
  }
  items(http).forEach((h, i) => {
    for (const k of ['method', 'path', 'host']) {
      const v = field(h, k);
      const text = v?.kind === 'scalar' && typeof v.value === 'string' ? v.value : undefined;
      if (text === undefined) continue;
      const msg = checkRe2(text);
      if (msg) out.push(errorAt('l7-regex', `${path}.rules.http[${i}].${k}: ${msg}`, v!.pos));
    }
    items(field(h, 'headers')).forEach((hd) => {
      const text = scalarString(hd);
      if (text !== undefined && text.trim() === '') out.push(errorAt('l7-header', 'header match is empty (write "Name" or "Name value")', hd.pos));
    });
  });
}

/** An ICMP type name must exist for the field's family (EchoRequest is 8 in ICMPv4, 128 in ICMPv6). */
function checkIcmpField(f: YNode, path: string, out: Diagnostic[]): void {
  const t = field(f, 'type');
  if (t?.kind !== 'scalar' || (typeof t.value !== 'string' && typeof t.value !== 'number')) return;
  const family = scalarString(field(f, 'family')) === 'IPv6' ? 6 : 4;
  if (resolveIcmpType(family, t.value) === undefined) {
    out.push(errorAt('icmp-type', `${path}.type: '${t.value}' is not an ICMPv${family === 4 ? '4' : '6'} type`, t.pos));
  }
}

/** `endPort` must not be below `port`, and needs a numeric port. */
function checkPortRange(p: YNode, path: string, out: Diagnostic[]): void {
  const proto = field(p, 'protocol');
  const protoText = scalarString(proto);
  if (proto && protoText !== undefined && PROTOCOL_LIST.includes(protoText) && expandProtocol(protoText).length === 0) {
    out.push(
      warningAt('protocol-not-modelled', `${path}.protocol ${protoText}: Palisade simulates and compiles TCP, UDP, SCTP and ICMP only; this port entry is not enforced by Palisade`, proto.pos),
    );
  }
  const endNode = field(p, 'endPort');
  if (endNode?.kind !== 'scalar' || typeof endNode.value !== 'number' || endNode.value === 0) return;
  const portText = scalarString(field(p, 'port'));
  if (portText === undefined) return;
  if (!/^[0-9]+$/.test(portText)) {
    out.push(errorAt('endport-named-port', `${path}.endPort needs a numeric port, not the named port '${portText}'`, endNode.pos));
    return;
  }
  const port = Number(portText);
  if (port !== 0 && endNode.value < port) {
    out.push(errorAt('port-range-inverted', `${path}.endPort ${endNode.value} is below port ${port}`, endNode.pos));
  }
}
