/**
 * Port, ICMP and L7 parts of rules → model. Ports become (protocol, from..to) ranges: `ANY`/omitted protocol expands
 * to TCP+UDP+SCTP, port "0" or omitted means 0..65535, named ports keep their name (from = to = 0 until resolved
 * on a destination pod). Protocols the model has no flows for (VRRP, GRE, ...) contribute no range.
 */
import type { YNode } from '../load/ynode.js';
import { field, items, scalarString } from '../load/ynode.js';
import { resolveIcmpType } from './icmp-types.js';
import type { DnsRule, HttpRule, IcmpMatch, L4Protocol, L7Rules, PortRange, PortRule, SourcePos } from './types.js';

const ALL_L4: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** Protocols a written protocol stands for; empty for protocols the model does not carry. */
export function expandProtocol(written: string | undefined): readonly L4Protocol[] {
  if (written === undefined || written === 'ANY') return ALL_L4;
  return (ALL_L4 as readonly string[]).includes(written) ? [written as L4Protocol] : [];
}

/** Ranges for one port as written: number, "0"/absent (all), or a name. */
function portRanges(protocols: readonly L4Protocol[], port: string | number | undefined, endPort: number | undefined, pos: SourcePos): PortRange[] {
  const text = port === undefined ? '0' : String(port);
  if (/^[0-9]+$/.test(text)) {
    const from = Number(text);
    if (from === 0) return protocols.map((protocol) => ({ protocol, from: 0, to: 65535, pos }));
    const to = endPort !== undefined && endPort > from ? endPort : from;
    return protocols.map((protocol) => ({ protocol, from, to, pos }));
  }
  return protocols.map((protocol) => ({ protocol, from: 0, to: 0, name: text.toLowerCase(), pos }));
}

function numberField(node: YNode | undefined, key: string): number | undefined {
  const v = field(node, key);
  return v?.kind === 'scalar' && typeof v.value === 'number' ? v.value : undefined;
}

/** One Cilium `toPorts` entry. */
export function buildCiliumPortRule(node: YNode): PortRule {
  const ports: PortRange[] = [];
  const list = items(field(node, 'ports'));
  if (list.length === 0) {
    ports.push(...portRanges(ALL_L4, undefined, undefined, node.pos));
  }
  for (const p of list) {
    ports.push(...portRanges(expandProtocol(scalarString(field(p, 'protocol'))), scalarString(field(p, 'port')), numberField(p, 'endPort'), p.pos));
  }
  const l7 = buildL7(node);
  return l7 ? { ports, l7, pos: node.pos } : { ports, pos: node.pos };
}

function optionalString(node: YNode | undefined, key: string): string | undefined {
  const v = field(node, key);
  return v?.kind === 'scalar' && typeof v.value === 'string' ? v.value : undefined;
}

function buildL7(portRule: YNode): L7Rules | undefined {
  const rules = field(portRule, 'rules');
  const others: string[] = [];
  if (field(portRule, 'serverNames')) others.push('tls-sni');
  if (field(portRule, 'terminatingTLS') || field(portRule, 'originatingTLS')) others.push('tls-interception');
  if (field(portRule, 'listener')) others.push('envoy-listener');
  const httpNode = field(rules, 'http');
  const dnsNode = field(rules, 'dns');
  if (!httpNode && !dnsNode && others.length === 0) return undefined;
  const pos = rules?.pos ?? portRule.pos;
  let http: HttpRule[] | undefined;
  if (httpNode) {
    http = items(httpNode).map((h) => {
      const headers = items(field(h, 'headers')).map((x) => scalarString(x) ?? '');
      for (const hm of items(field(h, 'headerMatches'))) {
        if (field(hm, 'secret')) {
          others.push('http-header-secret');
          continue;
        }
        // A header match with a mismatch action never blocks the request: only plain matches constrain it.
        if (field(hm, 'mismatch')) continue;
        const name = optionalString(hm, 'name') ?? '';
        const value = optionalString(hm, 'value');
        headers.push(value ? `${name} ${value}` : name);
      }
      const rule: { -readonly [K in keyof HttpRule]: HttpRule[K] } = { pos: h.pos };
      const method = optionalString(h, 'method');
      const path = optionalString(h, 'path');
      const host = optionalString(h, 'host');
      if (method !== undefined) rule.method = method;
      if (path !== undefined) rule.path = path;
      if (host !== undefined) rule.host = host;
      if (headers.length > 0) rule.headers = headers;
      return rule;
    });
  }
  let dns: DnsRule[] | undefined;
  if (dnsNode) {
    dns = items(dnsNode).map((d) => {
      const rule: { -readonly [K in keyof DnsRule]: DnsRule[K] } = { pos: d.pos };
      const name = optionalString(d, 'matchName');
      const pattern = optionalString(d, 'matchPattern');
      if (name !== undefined) rule.matchName = name;
      if (pattern !== undefined) rule.matchPattern = pattern;
      return rule;
    });
  }
  const out: { -readonly [K in keyof L7Rules]: L7Rules[K] } = { pos };
  if (http) out.http = http;
  if (dns) out.dns = dns;
  if (others.length > 0) out.other = [...new Set(others)].join(',');
  return out;
}

/** All ICMP matches of a Cilium `icmps` list, names resolved (unknown names are skipped; validation reports them). */
export function buildIcmps(node: YNode): IcmpMatch[] {
  const out: IcmpMatch[] = [];
  for (const entry of items(node)) {
    for (const f of items(field(entry, 'fields'))) {
      const family = scalarString(field(f, 'family')) === 'IPv6' ? 6 : 4;
      const t = field(f, 'type');
      const written = t?.kind === 'scalar' && (typeof t.value === 'number' || typeof t.value === 'string') ? t.value : undefined;
      const type = written === undefined ? undefined : resolveIcmpType(family, written);
      if (type !== undefined) out.push({ family, type, pos: f.pos });
    }
  }
  return out;
}

/** The `ports` list of a NetworkPolicy rule: protocol defaults to TCP, absent port = all, endPort inclusive. */
export function buildNetworkPolicyPortRule(list: YNode): PortRule {
  const ports: PortRange[] = [];
  for (const p of items(list)) {
    const protocol = (scalarString(field(p, 'protocol')) ?? 'TCP') as L4Protocol;
    const portNode = field(p, 'port');
    const port = portNode?.kind === 'scalar' && portNode.value !== null && typeof portNode.value !== 'boolean' ? portNode.value : undefined;
    ports.push(...portRanges([protocol], port, numberField(p, 'endPort'), p.pos));
  }
  return { ports, pos: list.pos };
}
