/**
 * Precompilation of a policy model for the reference evaluator: selectors deduplicated and numbered (so each
 * endpoint identity caches one answer per selector), regexes compiled once, prefixes parsed into integer ranges, and
 * specs indexed by the namespace their subject is confined to. Nothing here looks at flows.
 */
import type { Direction, Entity, IcmpMatch, L4Protocol, PolicyModel, PolicyRule, PolicySpec, Peer, PortRule, Selector } from '../model/types.js';
import type { EndpointKind, RuleRef } from '../flow/types.js';
import { ruleRef } from '../flow/types.js';
import { compileNameMatcher, type NameMatcher } from './fqdn-match.js';
import { compileHttpRule, type HttpMatcher } from './http-match.js';
import { parseCidr, type IpRange } from './ip-address.js';
import { matchesSelector } from '../model/selector-match.js';
import { NAMESPACE_KEY } from '../model/labels.js';
import type { ServiceInfo } from './types.js';


/** Which endpoint kinds an entity stands for (`world*` also look at the address family). */
export type EntityTest = (kind: EndpointKind, family: 4 | 6 | 0) => boolean;

const ENTITY_TESTS: Readonly<Record<Entity, EntityTest>> = {
  world: (k) => k === 'world',
  'world-ipv4': (k, f) => k === 'world' && f !== 6,
  'world-ipv6': (k, f) => k === 'world' && f === 6,
  // Every identity inside the cluster: pods, this host, other nodes and the special in-cluster identities.
  cluster: (k) => k !== 'world',
  host: (k) => k === 'host',
  'remote-node': (k) => k === 'remote-node',
  'kube-apiserver': (k) => k === 'kube-apiserver',
  health: (k) => k === 'health',
  init: (k) => k === 'init',
  unmanaged: (k) => k === 'unmanaged',
  ingress: (k) => k === 'ingress',
  all: () => true,
  none: () => false,
};

/** One service a `toServices` peer resolved to. */
export interface ServiceTarget {
  readonly namespace: string;
  readonly clusterIPs: ReadonlySet<string>;
  /** Pod label requirements (`spec.selector`), or null when the service has no selector. */
  readonly podSelector: ReadonlyMap<string, string> | null;
}

export type CompiledPeer =
  | { readonly kind: 'endpoints'; readonly selector: number; readonly reservedOk: boolean }
  | { readonly kind: 'entities'; readonly tests: readonly EntityTest[] }
  | { readonly kind: 'cidr'; readonly range: IpRange | null; readonly except: readonly IpRange[]; readonly matchesPods: boolean }
  | { readonly kind: 'fqdn'; readonly match: NameMatcher }
  | { readonly kind: 'nodes'; readonly selector: number }
  | { readonly kind: 'service'; readonly targets: readonly ServiceTarget[] }
  | { readonly kind: 'nothing' };

export interface CompiledL7 {
  readonly http: readonly HttpMatcher[] | null;
  readonly dns: readonly NameMatcher[] | null;
}

export interface CompiledPortRule {
  readonly ranges: readonly { readonly protocol: L4Protocol; readonly from: number; readonly to: number; readonly name?: string }[];
  /** Null: plain L4. */
  readonly l7: CompiledL7 | null;
}

export interface CompiledRule {
  readonly ref: RuleRef;
  /** `[ref]`, shared, for the common single-rule verdict. */
  readonly refs: readonly RuleRef[];
  readonly peers: readonly CompiledPeer[] | null;
  readonly ports: readonly CompiledPortRule[] | null;
  readonly icmps: readonly IcmpMatch[] | null;
}

export interface CompiledDirection {
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
}

export interface CompiledSpec {
  readonly subject: number;
  readonly defaultDeny: { readonly ingress: boolean; readonly egress: boolean };
  readonly ingress: CompiledDirection;
  readonly egress: CompiledDirection;
}

export interface CompiledModel {
  /** Distinct selectors by id; identities cache one answer per id. */
  readonly selectors: readonly Selector[];
  /** Endpoint-subject specs whose subject requires a namespace, by namespace. */
  readonly specsByNamespace: ReadonlyMap<string, readonly CompiledSpec[]>;
  /** Endpoint-subject specs whose subject may select any namespace. */
  readonly unscopedSpecs: readonly CompiledSpec[];
  /** Node-subject specs (host firewall): their subjects select node endpoints (`host`, `remote-node`). */
  readonly nodeSpecs: readonly CompiledSpec[];
}

function namespacesOfSubject(spec: PolicySpec): readonly string[] | null {
  for (const r of spec.subject.requirements) {
    if (r.key === NAMESPACE_KEY && r.operator === 'In' && (r.source === 'k8s' || r.source === 'any')) return r.values;
  }
  return null;
}

function serviceTargets(peer: Extract<Peer, { kind: 'service' }>, services: readonly ServiceInfo[]): ServiceTarget[] {
  const bySelector = peer.selector;
  const targets: ServiceTarget[] = [];
  for (const svc of services) {
    if (peer.namespace !== undefined && svc.namespace !== peer.namespace) continue;
    if (peer.name !== undefined && svc.name !== peer.name) continue;
    if (bySelector !== undefined && !matchesSelector(bySelector, svc.labels)) continue;
    if (peer.name === undefined && bySelector === undefined) continue;
    targets.push({
      namespace: svc.namespace,
      clusterIPs: new Set(svc.clusterIPs),
      podSelector: svc.selector ? new Map(Object.entries(svc.selector)) : null,
    });
  }
  return targets;
}

/**
 * Compiles a model once for many judgements.
 * @returns the compiled form; never throws for a model the loader produced (unparseable prefixes match nothing).
 */
export function compileModel(model: PolicyModel, services: readonly ServiceInfo[]): CompiledModel {
  const selectors: Selector[] = [];
  const selectorIds = new Map<string, number>();
  const selectorId = (sel: Selector): number => {
    const key = JSON.stringify(sel.requirements.map((r) => [r.source, r.key, r.operator, r.values]));
    let id = selectorIds.get(key);
    if (id === undefined) {
      id = selectors.length;
      selectors.push(sel);
      selectorIds.set(key, id);
    }
    return id;
  };
  const peer = (p: Peer): CompiledPeer => {
    switch (p.kind) {
      case 'endpoints':
        return { kind: 'endpoints', selector: selectorId(p.selector), reservedOk: p.selector.requirements.some((r) => r.source === 'reserved') };
      case 'entities':
        return { kind: 'entities', tests: p.entities.map((e) => ENTITY_TESTS[e] ?? (() => false)) };
      case 'cidr':
        return {
          kind: 'cidr',
          range: parseCidr(p.cidr),
          except: p.except.map(parseCidr).filter((r): r is IpRange => r !== null),
          matchesPods: p.matchesPods,
        };
      case 'fqdn':
        return { kind: 'fqdn', match: compileNameMatcher(p) };
      case 'nodes':
        return { kind: 'nodes', selector: selectorId(p.selector) };
      case 'service':
        return { kind: 'service', targets: serviceTargets(p, services) };
      case 'group':
        return { kind: 'nothing' };
    }
  };
  const portRule = (pr: PortRule): CompiledPortRule => {
    const l7 = pr.l7;
    const hasL7 = l7 !== undefined && (l7.http !== undefined || l7.dns !== undefined || l7.other !== undefined);
    return {
      ranges: pr.ports.map((r) => ({ protocol: r.protocol, from: r.from, to: r.to, ...(r.name !== undefined ? { name: r.name } : {}) })),
      l7: hasL7
        ? {
            http: l7.http ? l7.http.map(compileHttpRule) : null,
            dns: l7.dns ? l7.dns.map(compileNameMatcher) : null,
          }
        : null,
    };
  };
  const rule = (spec: PolicySpec, r: PolicyRule): CompiledRule => {
    const ref = ruleRef(spec.policy, r.id, r.pos);
    return {
      ref,
      refs: Object.freeze([ref]),
      peers: r.peers === null ? null : r.peers.map(peer),
      ports: r.ports === null ? null : r.ports.map(portRule),
      icmps: r.icmps,
    };
  };
  const direction = (spec: PolicySpec, d: Direction): CompiledDirection => ({
    allow: spec.rules.filter((r) => r.direction === d && r.action === 'allow').map((r) => rule(spec, r)),
    deny: spec.rules.filter((r) => r.direction === d && r.action === 'deny').map((r) => rule(spec, r)),
  });

  const specsByNamespace = new Map<string, CompiledSpec[]>();
  const unscopedSpecs: CompiledSpec[] = [];
  const nodeSpecs: CompiledSpec[] = [];
  for (const spec of model.specs) {
    const compiled: CompiledSpec = {
      subject: selectorId(spec.subject),
      defaultDeny: { ingress: spec.defaultDeny.ingress, egress: spec.defaultDeny.egress },
      ingress: direction(spec, 'ingress'),
      egress: direction(spec, 'egress'),
    };
    if (spec.subjectKind === 'nodes') {
      nodeSpecs.push(compiled);
      continue;
    }
    const namespaces = namespacesOfSubject(spec);
    if (namespaces === null) {
      unscopedSpecs.push(compiled);
      continue;
    }
    for (const ns of namespaces) {
      const list = specsByNamespace.get(ns);
      if (list) list.push(compiled);
      else specsByNamespace.set(ns, [compiled]);
    }
  }
  return { selectors, specsByNamespace, unscopedSpecs, nodeSpecs };
}
