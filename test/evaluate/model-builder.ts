/**
 * Small builders for hand-made policy models and flows, so evaluator tests read like the policies they mirror.
 */
import type {
  Direction,
  Entity,
  IcmpMatch,
  Label,
  LabelRequirement,
  Peer,
  PolicyKind,
  PolicyModel,
  PolicyRule,
  PolicySpec,
  PortRange,
  PortRule,
  Selector,
  L7Rules,
} from '../../pipeline/core/model/types.js';
import type { EndpointKind, Flow, FlowEndpoint, NamedPort } from '../../pipeline/core/flow/types.js';

export const pos = (line = 1) => ({ file: 'policies/test.yaml', line, col: 1 });

export function label(text: string): Label {
  const colon = text.indexOf(':');
  const eq = text.indexOf('=', colon + 1);
  return eq < 0
    ? { source: text.slice(0, colon), key: text.slice(colon + 1), value: '' }
    : { source: text.slice(0, colon), key: text.slice(colon + 1, eq), value: text.slice(eq + 1) };
}

/** `sel({app: 'web'}, 'ns')`: matchLabels (source any) plus an optional namespace scope. */
export function sel(match: Record<string, string> = {}, ns?: string, extra: LabelRequirement[] = []): Selector {
  const reqs: LabelRequirement[] = Object.entries(match).map(([k, v]) => {
    const colon = k.indexOf(':');
    return colon >= 0
      ? { source: k.slice(0, colon), key: k.slice(colon + 1), operator: 'In' as const, values: [v] }
      : { source: 'any', key: k, operator: 'In' as const, values: [v] };
  });
  if (ns !== undefined) reqs.push({ source: 'k8s', key: 'io.kubernetes.pod.namespace', operator: 'In', values: [ns] });
  reqs.push(...extra);
  reqs.sort((a, b) => `${a.source}\0${a.key}\0${a.operator}`.localeCompare(`${b.source}\0${b.key}\0${b.operator}`));
  return { requirements: reqs, pos: pos() };
}

export const peer = {
  endpoints: (s: Selector): Peer => ({ kind: 'endpoints', selector: s, pos: pos() }),
  entities: (...entities: Entity[]): Peer => ({ kind: 'entities', entities, pos: pos() }),
  cidr: (cidr: string, except: string[] = [], matchesPods = false): Peer => ({ kind: 'cidr', cidr, except, matchesPods, pos: pos() }),
  fqdn: (f: { matchName?: string; matchPattern?: string }): Peer => ({ kind: 'fqdn', ...f, pos: pos() }),
  nodes: (s: Selector): Peer => ({ kind: 'nodes', selector: s, pos: pos() }),
  service: (name: string, namespace: string): Peer => ({ kind: 'service', name, namespace, pos: pos() }),
};

export function ports(list: Array<[PortRange['protocol'], number, number?, string?]>, l7?: Omit<L7Rules, 'pos'>): PortRule {
  const out: PortRange[] = list.map(([protocol, from, to, name]) => ({
    protocol,
    from,
    to: to ?? from,
    ...(name !== undefined ? { name } : {}),
    pos: pos(),
  }));
  return { ports: out, ...(l7 ? { l7: { ...l7, pos: pos() } } : {}), pos: pos() };
}

export interface RuleInit {
  direction: Direction;
  action?: 'allow' | 'deny';
  peers?: Peer[] | null;
  ports?: PortRule[] | null;
  icmps?: Array<{ family: 4 | 6; type: number }> | null;
  line?: number;
}

export interface SpecInit {
  kind?: PolicyKind;
  name: string;
  namespace?: string | null;
  subject: Selector;
  defaultDeny?: { ingress?: boolean; egress?: boolean };
  rules: RuleInit[];
}

/** Builds a spec; default-deny defaults to "the spec has rules in that direction" (Cilium's rule). */
export function spec(init: SpecInit, specIndex = 0): PolicySpec {
  const kind = init.kind ?? 'CiliumNetworkPolicy';
  const namespace = init.namespace === undefined ? (kind === 'CiliumClusterwideNetworkPolicy' ? null : 'default') : init.namespace;
  const counters: Record<string, number> = {};
  const rules: PolicyRule[] = init.rules.map((r) => {
    const action = r.action ?? 'allow';
    const bucket = `${r.direction}${action === 'deny' ? '-deny' : ''}`;
    const n = (counters[bucket] = (counters[bucket] ?? -1) + 1);
    return {
      id: `${kind}/${namespace ?? ''}/${init.name}/${specIndex}/${bucket}/${n}`,
      direction: r.direction,
      action,
      peers: r.peers === undefined ? null : r.peers,
      ports: r.ports === undefined ? null : r.ports,
      icmps: r.icmps === undefined || r.icmps === null ? null : r.icmps.map((i): IcmpMatch => ({ ...i, pos: pos() })),
      pos: pos(r.line ?? 10),
    };
  });
  const has = (d: Direction) => init.rules.some((r) => r.direction === d);
  return {
    policy: { kind, namespace, name: init.name, pos: pos() },
    specIndex,
    subjectKind: 'endpoints',
    subject: init.subject,
    defaultDeny: { ingress: init.defaultDeny?.ingress ?? has('ingress'), egress: init.defaultDeny?.egress ?? has('egress') },
    rules,
    pos: pos(),
  };
}

export function model(...specs: PolicySpec[]): PolicyModel {
  return { specs, skipped: {} };
}

export interface PodInit {
  ns: string;
  labels?: Record<string, string>;
  ip: string;
  name?: string;
  namedPorts?: NamedPort[];
  nsLabels?: Record<string, string>;
}

export function pod(p: PodInit): FlowEndpoint {
  const labels: Label[] = [
    ...Object.entries(p.labels ?? {}).map(([k, v]) => ({ source: 'k8s', key: k, value: v })),
    { source: 'k8s', key: 'io.kubernetes.pod.namespace', value: p.ns },
    ...Object.entries(p.nsLabels ?? {}).map(([k, v]) => ({ source: 'k8s', key: `io.cilium.k8s.namespace.labels.${k}`, value: v })),
  ];
  return {
    kind: 'pod',
    ip: p.ip,
    labels,
    namespace: p.ns,
    ...(p.name ? { podName: p.name } : {}),
    ...(p.namedPorts ? { namedPorts: p.namedPorts } : {}),
  };
}

export function reserved(kind: EndpointKind, ip: string): FlowEndpoint {
  const lbl = kind === 'world' ? 'world' : kind;
  return { kind, ip, labels: [{ source: 'reserved', key: lbl, value: '' }] };
}

let nextIndex = 0;
export function flow(src: FlowEndpoint, dst: FlowEndpoint, extra: Partial<Flow> = {}): Flow {
  return {
    index: extra.index ?? nextIndex++,
    src,
    dst,
    protocol: 'TCP',
    srcPort: 40000,
    dstPort: 80,
    isReply: false,
    ...extra,
  };
}
