/**
 * Probe vectors: flows paired with the verdict the reference evaluator gives them. Each agent replays them against
 * its own kernel before it activates a bundle. They come from recorded flows and from edge cases generated around
 * every rule of the model: each port range's first and last port (in) and the ports just outside (out), each ICMP
 * type and its neighbour, each peer with a matching and a non-matching party (for toFQDNs: an address a DNS answer
 * named, after that answer, and one no answer named), for allow and deny rules alike.
 * Pure: the verdicts come from the `judge` function the caller hands in (the reference evaluator).
 */
import type { EndpointKind, Flow, FlowEndpoint, FlowProtocol, Verdict } from '../flow/types.js';
import type { Entity, Label, LabelRequirement, Peer, PolicyModel, PolicyRule, PolicySpec, Selector } from '../model/types.js';
import { canonicalJson } from './canonical-json.js';
import { BundleError } from './errors.js';

/** One line of `probes.jsonl`. */
export interface ProbeVector {
  readonly flow: Flow;
  readonly verdict: Verdict;
  /** `recorded` or the rule and edge it was generated for (`<rule id> port 80 in`). */
  readonly origin: string;
}

/** Default cap on generated edge-case flows, so that huge policy sets give bounded bundles. */
export const DEFAULT_MAX_EDGE_PROBES = 20_000;

const NS_KEY = 'io.kubernetes.pod.namespace';
const PROBE_VALUE = 'palisade-probe';
const OTHER_VALUE = 'palisade-probe-other';
const SRC_PORT = 40000;

/** The cluster DNS server DNS answers come from (its address from the book, preferably 10.199.0.53). */
function dnsServer(addrs: AddressBook): FlowEndpoint {
  return {
    kind: 'pod',
    ip: addrs.fixed('dns server', '10.199.0.53'),
    namespace: 'kube-system',
    podName: 'coredns-probe',
    labels: [
      { source: 'k8s', key: 'io.kubernetes.pod.namespace', value: 'kube-system' },
      { source: 'k8s', key: 'k8s-app', value: 'kube-dns' },
    ],
  };
}

/**
 * Edge-case flows around every rule of `model`, deterministic and de-duplicated, at most `max` of them.
 * @param avoid addresses the synthesized parties must not use (those of the recorded flows).
 * @returns flows (indexes 0..n-1) with a description of what each probes.
 */
export function generateEdgeFlows(model: PolicyModel, max = DEFAULT_MAX_EDGE_PROBES, avoid: ReadonlySet<string> = new Set()): { flow: Flow; origin: string }[] {
  const out: { flow: Flow; origin: string }[] = [];
  const seen = new Set<string>();
  const addrs = new AddressBook(avoid);
  const add = (f: Omit<Flow, 'index' | 'isReply'>, origin: string, isReply = false): void => {
    if (out.length >= max) return;
    const key = canonicalJson(f);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ flow: { ...f, index: out.length, isReply }, origin });
  };
  for (const spec of model.specs) {
    if (spec.subjectKind !== 'endpoints') continue; // host firewall policies need node identities, not probed
    const subject = podMatching(spec.subject, addrs, spec);
    for (const rule of spec.rules) {
      for (const { party, what, dnsName } of peerParties(rule, addrs)) {
        if (dnsName !== undefined) {
          // The answer reaches the subject as the reply of its query, so later flows see the name's address.
          add(
            { src: dnsServer(addrs), dst: subject, protocol: 'UDP', srcPort: 53, dstPort: SRC_PORT, dns: { query: `${dnsName}.`, ips: [party.ip] } },
            `${rule.id} ${what} (DNS answer)`,
            true,
          );
        }
        for (const l4 of l4Cases(rule)) {
          const dst = rule.direction === 'ingress' ? withNamedPort(subject, l4) : withNamedPort(party, l4);
          const src = rule.direction === 'ingress' ? party : subject;
          add({ src, dst, protocol: l4.protocol, ...l4.fields }, `${rule.id} ${what} ${l4.what}`);
        }
      }
      if (out.length >= max) return out;
    }
  }
  return out;
}

/**
 * Pairs flows with verdicts: recorded flows first (in order), then edge cases; indexes renumbered 0..n-1. Flows
 * that repeat an earlier probe (same parties, protocol, destination port and verdict; time, index and source port
 * aside) are judged but not kept, so a long recording of the same connections stays small.
 * @param judge the reference evaluator's verdict for one flow (every recorded flow is judged, in order, so DNS
 *   answers seen earlier count).
 */
export function buildProbeVectors(recorded: readonly Flow[], edges: readonly { flow: Flow; origin: string }[], judge: (flow: Flow) => Verdict): ProbeVector[] {
  const all = [...recorded.map((flow) => ({ flow, origin: 'recorded' })), ...edges];
  const seen = new Set<string>();
  const out: ProbeVector[] = [];
  all.forEach(({ flow, origin }, position) => {
    const verdict = judge({ ...flow, index: position });
    const portable = portableFlow(flow);
    const key = canonicalJson({ flow: { ...portable, index: 0, time: undefined, srcPort: undefined }, verdict: { ...verdict, index: 0 } });
    if (seen.has(key)) return;
    seen.add(key);
    const index = out.length;
    out.push({ flow: { ...portable, index }, verdict: { ...verdict, index }, origin });
  });
  return out;
}

/** The flow without the per-process cache hints readers attach to endpoints (identityKey, identityIndex). */
function portableFlow(flow: Flow): Flow {
  const strip = (e: FlowEndpoint): FlowEndpoint => (e.identityKey === undefined && e.identityIndex === undefined ? e : { ...e, identityKey: undefined, identityIndex: undefined });
  return { ...flow, src: strip(flow.src), dst: strip(flow.dst) };
}

/** `probes.jsonl` bytes: one canonical JSON object per line, newline-terminated. */
export function probesJsonl(vectors: readonly ProbeVector[]): Uint8Array {
  return new TextEncoder().encode(vectors.map((v) => canonicalJson(v) + '\n').join(''));
}

// ───────────────────────────── parties ─────────────────────────────

/**
 * Hands out distinct, stable addresses per synthesized party, never one that a recorded flow or a fixed party uses,
 * so that every address in a bundle's probes stands for one party (the datapath binds addresses to identities).
 */
class AddressBook {
  private readonly taken: Set<string>;
  private readonly memo = new Map<string, string | null>();
  private podNext = 1;
  private fqdnNext = 1;

  constructor(avoid: ReadonlySet<string>) {
    this.taken = new Set(avoid);
  }

  /** `preferred` for the party `key` when free, else a free one from the documentation ranges. */
  fixed(key: string, preferred: string): string {
    // The fallbacks are produced one at a time, only when the preferred address is taken: this is called once per
    // probe that involves a fixed party, and is nearly always a memo hit.
    let i = -1;
    const next = (): string | null => {
      const n = i++;
      if (n < 0) return preferred;
      const range = Math.floor(n / 254);
      return range < FALLBACK_RANGES.length ? ipv4(FALLBACK_RANGES[range]! + (n % 254) + 1) : null;
    };
    return this.remember(key, next) ?? preferred;
  }

  /** A pod address in 10.200.0.0/13 per distinct label set. */
  pod(key: string): string {
    return this.remember(`pod ${key}`, () => (this.podNext < 2 ** 19 ? ipv4(POD_BASE + this.podNext++) : null)) ?? '';
  }

  /** An address in 240.0.0.0/8 (reserved, never routed) per DNS name; '' asks for a fresh unnamed one. */
  fqdn(name: string): string {
    const next = (): string | null => (this.fqdnNext < 2 ** 24 ? ipv4(FQDN_BASE + this.fqdnNext++) : null);
    return (name === '' ? this.claim(next) : this.remember(`fqdn ${name}`, next)) ?? '';
  }

  /** A free address among the first few inside (or, `outside`, just after) an IPv4 block; null when none is free. */
  cidrEdge(cidr: string, outside: boolean): string | null {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) return null;
    const base = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(m[5]));
    let k = outside ? size : size === 1 ? 0 : 1;
    const end = outside ? Math.min(size + 16, 2 ** 32 - base) : Math.min(size, 17);
    return this.remember(`cidr ${cidr} ${outside}`, () => (k < end ? ipv4(base + k++) : null));
  }

  private remember(key: string, next: () => string | null): string | null {
    if (!this.memo.has(key)) this.memo.set(key, this.claim(next));
    return this.memo.get(key)!;
  }

  private claim(next: () => string | null): string | null {
    for (let ip = next(); ip !== null; ip = next()) {
      if (!this.taken.has(ip)) {
        this.taken.add(ip);
        return ip;
      }
    }
    return null;
  }
}

const POD_BASE = 10 * 2 ** 24 + 200 * 2 ** 16;
/** 192.0.2.0/24 and 198.51.100.0/24 (documentation ranges), for fixed parties whose preferred address is taken. */
const FALLBACK_RANGES = [192 * 2 ** 24 + 2 * 2 ** 8, 198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 2 ** 8];
const FQDN_BASE = 240 * 2 ** 24;

function ipv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Labels satisfying every requirement of `sel` (absent-key requirements are satisfied by leaving the key out). */
function labelsMatching(sel: Selector): Label[] {
  const labels: Label[] = [];
  for (const r of sel.requirements) {
    const source = r.source === 'any' ? 'k8s' : r.source;
    if (r.operator === 'In') labels.push({ source, key: r.key, value: r.values[0] ?? '' });
    else if (r.operator === 'Exists') labels.push({ source, key: r.key, value: PROBE_VALUE });
  }
  return labels;
}

/** Labels breaking the first requirement of `sel` and satisfying the rest; null when `sel` selects everything. */
function labelsNotMatching(sel: Selector): Label[] | null {
  const [first, ...rest] = sel.requirements;
  if (!first) return null;
  const labels = labelsMatching({ ...sel, requirements: rest });
  const source = first.source === 'any' ? 'k8s' : first.source;
  const broken = breakRequirement(first);
  if (broken !== null) labels.push({ source, key: first.key, value: broken });
  return labels;
}

function breakRequirement(r: LabelRequirement): string | null {
  switch (r.operator) {
    case 'In':
      return OTHER_VALUE;
    case 'NotIn':
      return r.values[0] ?? OTHER_VALUE;
    case 'DoesNotExist':
      return PROBE_VALUE;
    case 'Exists':
      return null;
  }
}

function endpointFromLabels(labels: Label[], addrs: AddressBook, fallbackNs: string | null): FlowEndpoint | null {
  if (labels.some((l) => l.source === 'reserved')) return null; // reserved identities are probed through entities
  let ns = labels.find((l) => l.key === NS_KEY)?.value;
  if (ns === undefined) {
    ns = fallbackNs ?? PROBE_VALUE;
    labels = [...labels, { source: 'k8s', key: NS_KEY, value: ns }];
  }
  // Each label's text once, not twice per comparison; the comparator gives the same answers, so the same order.
  const texts = new Map(labels.map((l) => [l, canonicalJson(l)] as const));
  const sorted = [...labels].sort((a, b) => (texts.get(a)! < texts.get(b)! ? -1 : 1));
  const key = `[${sorted.map((l) => texts.get(l)!).join(',')}]`;
  return { kind: 'pod', ip: addrs.pod(key), labels: sorted, namespace: ns, podName: `probe-${addrs.pod(key).replace(/\./g, '-')}` };
}

function podMatching(sel: Selector, addrs: AddressBook, spec: PolicySpec): FlowEndpoint {
  return endpointFromLabels(labelsMatching(sel), addrs, spec.policy.namespace)
    ?? { kind: 'pod', ip: addrs.pod('subject'), labels: [], namespace: PROBE_VALUE };
}

/** Entities probed with a party of their own: its kind and preferred address. */
const ENTITY_PARTY: Partial<Record<Entity, { readonly kind: EndpointKind; readonly ip: string }>> = {
  world: { kind: 'world', ip: '203.0.113.10' },
  host: { kind: 'host', ip: '192.0.2.1' },
  'remote-node': { kind: 'remote-node', ip: '192.0.2.2' },
  'kube-apiserver': { kind: 'kube-apiserver', ip: '192.0.2.3' },
  health: { kind: 'health', ip: '10.199.0.4' },
};

/** The party standing for entity `e` (labelled `reserved:<e>`), or undefined when it has none. */
function entityParty(e: Entity, addrs: AddressBook): FlowEndpoint | undefined {
  const p = ENTITY_PARTY[e];
  return p && { kind: p.kind, ip: addrs.fixed(`entity ${e}`, p.ip), labels: [{ source: 'reserved', key: e, value: '' }] };
}

/** A party to probe a rule with; `dnsName` asks for a DNS answer naming the party's address to be seen first. */
interface Party {
  readonly party: FlowEndpoint;
  readonly what: string;
  readonly dnsName?: string;
}

function peerParties(rule: PolicyRule, addrs: AddressBook): Party[] {
  const anyPod = endpointFromLabels([{ source: 'k8s', key: 'app', value: PROBE_VALUE }], addrs, PROBE_VALUE)!;
  if (rule.peers === null) return [{ party: anyPod, what: 'any peer' }, { party: entityParty('world', addrs)!, what: 'any peer (world)' }];
  const parties: Party[] = [];
  rule.peers.forEach((peer, i) => parties.push(...partiesOfPeer(peer, i, addrs, anyPod)));
  return parties;
}

function partiesOfPeer(peer: Peer, i: number, addrs: AddressBook, anyPod: FlowEndpoint): Party[] {
  const out: Party[] = [];
  switch (peer.kind) {
    case 'endpoints': {
      const yes = endpointFromLabels(labelsMatching(peer.selector), addrs, null);
      if (yes) out.push({ party: yes, what: `peer ${i} matching` });
      const notLabels = labelsNotMatching(peer.selector);
      const no = notLabels && endpointFromLabels(notLabels, addrs, null);
      if (no) out.push({ party: no, what: `peer ${i} not matching` });
      break;
    }
    case 'entities': {
      for (const e of peer.entities) {
        const p = entityParty(e, addrs);
        if (p) out.push({ party: p, what: `peer ${i} entity ${e}` });
      }
      if (!peer.entities.includes('world') && !peer.entities.includes('all')) out.push({ party: entityParty('world', addrs)!, what: `peer ${i} not an entity (world)` });
      if (peer.entities.includes('cluster') || peer.entities.includes('all')) out.push({ party: anyPod, what: `peer ${i} in-cluster pod` });
      break;
    }
    case 'cidr': {
      const inside = addrs.cidrEdge(peer.cidr, false);
      const outside = addrs.cidrEdge(peer.cidr, true);
      if (inside) out.push({ party: worldAt(inside), what: `peer ${i} inside ${peer.cidr}` });
      if (outside) out.push({ party: worldAt(outside), what: `peer ${i} outside ${peer.cidr}` });
      break;
    }
    case 'fqdn': {
      // An address the DNS answered for a matching name, and one it never named.
      const name = peer.matchName ?? nameMatchingPattern(peer.matchPattern ?? '*');
      out.push({ party: worldAt(addrs.fqdn(name)), what: `peer ${i} answered for ${name}`, dnsName: name });
      out.push({ party: worldAt(addrs.fqdn('')), what: `peer ${i} address without a DNS answer` });
      break;
    }
    default:
      break; // nodes, services, groups: need an inventory; covered by recorded flows
  }
  return out;
}

function worldAt(ip: string): FlowEndpoint {
  return { kind: 'world', ip, labels: [{ source: 'reserved', key: 'world', value: '' }] };
}

/** A DNS name a toFQDNs pattern matches: `*` stands for one label, `**.` for one or more. */
function nameMatchingPattern(pattern: string): string {
  if (pattern === '*') return 'probe.palisade.example';
  return pattern.replace(/\*\*\./g, 'probe.').replace(/\*/g, 'probe');
}

// ───────────────────────────── L4 cases ─────────────────────────────

interface L4Case {
  readonly protocol: FlowProtocol;
  readonly fields: { srcPort?: number; dstPort?: number; icmpType?: number; icmpCode?: number };
  readonly what: string;
  readonly namedPort?: { name: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' };
}

function l4Cases(rule: PolicyRule): L4Case[] {
  const cases: L4Case[] = [];
  const tcp = (port: number, what: string): L4Case => ({ protocol: 'TCP', fields: { srcPort: SRC_PORT, dstPort: port }, what });
  if (rule.ports === null && rule.icmps === null) return [tcp(80, 'any port'), { protocol: 'ICMPv4', fields: { icmpType: 8, icmpCode: 0 }, what: 'any protocol (icmp echo)' }];
  for (const pr of rule.ports ?? []) {
    for (const r of pr.ports) {
      const at = (port: number, what: string): L4Case => ({ protocol: r.protocol, fields: { srcPort: SRC_PORT, dstPort: port }, what: `${r.protocol} ${port} ${what}` });
      if (r.name) {
        const np = { name: r.name, port: 8080, protocol: r.protocol };
        cases.push({ ...at(8080, `named ${r.name} in`), namedPort: np }, { ...at(8081, `next to named ${r.name} out`), namedPort: np });
        continue;
      }
      const from = Math.max(r.from, 1);
      cases.push(at(from, 'first in'));
      if (r.to !== from) cases.push(at(r.to, 'last in'));
      if (from - 1 >= 1) cases.push(at(from - 1, 'below out'));
      if (r.to + 1 <= 65535) cases.push(at(r.to + 1, 'above out'));
    }
  }
  for (const ic of rule.icmps ?? []) {
    const protocol: FlowProtocol = ic.family === 6 ? 'ICMPv6' : 'ICMPv4';
    cases.push({ protocol, fields: { icmpType: ic.type, icmpCode: 0 }, what: `${protocol} type ${ic.type} in` });
    if (ic.type < 255) cases.push({ protocol, fields: { icmpType: ic.type + 1, icmpCode: 0 }, what: `${protocol} type ${ic.type + 1} out` });
  }
  return cases;
}

function withNamedPort(ep: FlowEndpoint, l4: L4Case): FlowEndpoint {
  return l4.namedPort && ep.kind === 'pod' ? { ...ep, namedPorts: [l4.namedPort] } : ep;
}

/** Upper bound on probe vectors read from one bundle. */
export const MAX_PROBE_VECTORS = 1_000_000;

/**
 * Reads `probes.jsonl` (from a verified bundle) back into vectors, checking each line's shape.
 * @throws BundleError `bundle-malformed` naming the line when a line is not a probe vector, or when there are more
 *   than `max` of them.
 */
export function parseProbeVectors(bytes: Uint8Array, max = MAX_PROBE_VECTORS): ProbeVector[] {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > max) throw new BundleError('bundle-malformed', `probes.jsonl: more than ${max} probe vectors`);
  return lines.map((line, i) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new BundleError('bundle-malformed', `probes.jsonl:${i + 1}: not JSON`);
    }
    const p = v as Partial<ProbeVector> | null;
    const ok = typeof p === 'object' && p !== null && typeof p.origin === 'string'
      && typeof p.flow === 'object' && p.flow !== null && p.flow.index === i
      && typeof p.verdict === 'object' && p.verdict !== null && p.verdict.index === i
      && (p.verdict.verdict === 'FORWARDED' || p.verdict.verdict === 'DROPPED');
    if (!ok) throw new BundleError('bundle-malformed', `probes.jsonl:${i + 1}: not a probe vector {flow, verdict, origin} with index ${i}`);
    return p as ProbeVector;
  });
}
