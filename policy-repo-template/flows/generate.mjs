#!/usr/bin/env node
// Generates the template's recorded traffic: `recorded.json` (Hubble JSON, one object per line, exactly as
// `hubble observe -o json` prints it) and `../inventory.json` (as `kubectl get pods,namespaces,services -A -o json`
// prints it), for the starter application the policies in ../policies describe.
//
// Deterministic: a seeded PRNG and a fixed clock, so running it again gives the same bytes.
//   node policy-repo-template/flows/generate.mjs           (re)writes both files
//   node policy-repo-template/flows/generate.mjs --check   exits 1 when the committed files differ from its output
//
// The application: `shop` (frontend, api), `data` (db = postgres StatefulSet, cache = redis), `payments`,
// Prometheus in `monitoring`, CoreDNS in `kube-system`, on a two-node cluster. Besides its normal traffic the
// recording holds what the starter policies drop: frontend → db directly, pods calling the cloud metadata address,
// a scan from the internet, Prometheus scraping CoreDNS's metrics port, payments reaching the partner's maintenance
// subnet, a frontend call to an external font CDN, and HTTP requests outside the API's allowed routes.
// The recorded verdicts and `*_allowed_by` attributions are what the starter policies give.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHECK = process.argv.includes('--check');
const stale = [];
/** Writes `text` to `path`, or in --check mode notes whether the file already holds exactly that. */
function output(path, text) {
  if (!CHECK) return writeFileSync(path, text);
  let current = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) stale.push(path);
}
const SEED = 20261120;
const START_MS = Date.parse('2026-11-20T09:00:00Z');
const ROUNDS = 10;
const ROUND_MS = 30_000;
const CLUSTER = 'palisade-demo';

// ───────────────────────────── deterministic randomness ─────────────────────────────

let state = SEED >>> 0;
function random() {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;
// Kubernetes' name-suffix alphabet (no vowels, no look-alikes).
const K8S_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const suffix = (n) => Array.from({ length: n }, () => pick([...K8S_ALPHABET])).join('');
const hex = (n) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;

// ───────────────────────────── the cluster ─────────────────────────────

const NODES = {
  'demo-worker': { ip: '172.18.0.2', podCidr: '10.244.1' },
  'demo-worker2': { ip: '172.18.0.3', podCidr: '10.244.2' },
};

const NAMESPACES = {
  shop: { team: 'storefront' },
  data: { team: 'database' },
  payments: { team: 'payments' },
  monitoring: {},
  'kube-system': {},
};

/** Workloads, their pods (node, last IP octet) and container ports. */
const WORKLOADS = [
  { ns: 'shop', name: 'frontend', kind: 'Deployment', labels: { app: 'frontend', tier: 'web' }, sa: 'frontend',
    pods: [['demo-worker', 21], ['demo-worker2', 17]], image: 'ghcr.io/example/shop-frontend:2.14.1',
    ports: [['https', 8443, 'TCP'], ['metrics', 9090, 'TCP']] },
  { ns: 'shop', name: 'api', kind: 'Deployment', labels: { app: 'api', tier: 'backend' }, sa: 'api',
    pods: [['demo-worker', 34], ['demo-worker2', 29]], image: 'ghcr.io/example/shop-api:4.2.0',
    ports: [['http', 8080, 'TCP'], ['metrics', 9090, 'TCP']] },
  { ns: 'data', name: 'db', kind: 'StatefulSet', labels: { app: 'db' }, sa: 'db',
    pods: [['demo-worker', 52]], image: 'docker.io/library/postgres:16.4',
    ports: [['postgres', 5432, 'TCP'], ['metrics', 9090, 'TCP']] },
  { ns: 'data', name: 'cache', kind: 'Deployment', labels: { app: 'cache' }, sa: 'default',
    pods: [['demo-worker2', 41]], image: 'docker.io/library/redis:7.4',
    ports: [['redis', 6379, 'TCP'], ['metrics', 9090, 'TCP']] },
  { ns: 'payments', name: 'payments', kind: 'Deployment', labels: { app: 'payments' }, sa: 'payments',
    pods: [['demo-worker2', 48]], image: 'ghcr.io/example/payments:1.9.3',
    ports: [['https', 8443, 'TCP'], ['metrics', 9090, 'TCP']] },
  { ns: 'monitoring', name: 'prometheus', kind: 'StatefulSet',
    labels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'k8s' }, sa: 'prometheus',
    pods: [['demo-worker', 60]], image: 'quay.io/prometheus/prometheus:v2.55.1', ports: [['web', 9090, 'TCP']] },
  { ns: 'kube-system', name: 'coredns', kind: 'Deployment', labels: { 'k8s-app': 'kube-dns' }, sa: 'coredns',
    pods: [['demo-worker', 3], ['demo-worker2', 5]], image: 'registry.k8s.io/coredns/coredns:v1.11.3',
    ports: [['dns', 53, 'UDP'], ['dns-tcp', 53, 'TCP'], ['metrics', 9153, 'TCP']] },
];

const SERVICES = [
  { ns: 'shop', name: 'frontend', ip: '10.96.12.34', selector: { app: 'frontend' }, ports: [['https', 443, 'TCP', 'https']] },
  { ns: 'shop', name: 'api', ip: '10.96.80.80', selector: { app: 'api' }, ports: [['http', 8080, 'TCP', 'http']] },
  { ns: 'data', name: 'db', ip: '10.96.54.32', selector: { app: 'db' }, ports: [['postgres', 5432, 'TCP', 'postgres']] },
  { ns: 'data', name: 'cache', ip: '10.96.63.79', selector: { app: 'cache' }, ports: [['redis', 6379, 'TCP', 'redis']] },
  { ns: 'payments', name: 'payments', ip: '10.96.84.43', selector: { app: 'payments' }, ports: [['https', 8443, 'TCP', 'https']] },
  { ns: 'monitoring', name: 'prometheus', ip: '10.96.90.90', selector: { 'app.kubernetes.io/name': 'prometheus' }, ports: [['web', 9090, 'TCP', 'web']] },
  { ns: 'kube-system', name: 'kube-dns', ip: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' },
    ports: [['dns', 53, 'UDP', 53], ['dns-tcp', 53, 'TCP', 53], ['metrics', 9153, 'TCP', 9153]] },
];

// Cluster identities are numbered in order of first appearance, as an agent would allocate them.
let nextIdentity = 10_241;
let nextEndpointId = 137;
const pods = [];
for (const w of WORKLOADS) {
  const rsHash = w.kind === 'Deployment' ? suffix(10) : '';
  const identity = nextIdentity;
  nextIdentity += int(3, 97);
  w.pods.forEach(([node, octet], i) => {
    const name = w.kind === 'StatefulSet' ? `${w.name}-${i}` : `${w.name}-${rsHash}-${suffix(5)}`;
    pods.push({ ...w, workload: w, podName: name, node, ip: `${NODES[node].podCidr}.${octet}`, identity, endpointId: nextEndpointId, rsHash });
    nextEndpointId += int(40, 400);
  });
}
const podsOf = (name) => pods.filter((p) => p.name === name);

function podLabels(p) {
  const labels = [
    ...Object.entries(p.labels).map(([k, v]) => `k8s:${k}=${v}`),
    `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${p.ns}`,
    ...Object.entries(NAMESPACES[p.ns]).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`,
    `k8s:io.cilium.k8s.policy.serviceaccount=${p.sa}`,
    `k8s:io.kubernetes.pod.namespace=${p.ns}`,
  ];
  return labels.sort();
}

/** The Hubble endpoint of a pod, as the node `observer` sees it (endpoint IDs only for its local endpoints). */
function podEndpoint(p, observer) {
  return {
    ...(p.node === observer ? { ID: p.endpointId } : {}),
    identity: p.identity,
    namespace: p.ns,
    labels: podLabels(p),
    pod_name: p.podName,
    workloads: [{ name: p.workload.name, kind: p.workload.kind }],
  };
}

/** Non-pod peers: `{ ip, endpoint(observer) }`. */
const world = (ip, extraLabels = [], identity = 2, names = undefined) => ({
  ip,
  node: null,
  names,
  endpoint: () => ({ identity, labels: [...extraLabels, 'reserved:world'].sort() }),
});
const hostOf = (node) => ({
  ip: NODES[node].ip,
  node,
  endpoint: (observer) => (observer === node ? { identity: 1, labels: ['reserved:host'] } : { identity: 6, labels: ['reserved:remote-node'] }),
});
const INGRESS = { ip: '10.244.1.201', node: 'demo-worker', endpoint: () => ({ identity: 8, labels: ['reserved:ingress'] }) };
const peer = (p) => (p.endpoint ? p : { ip: p.ip, node: p.node, pod: p, endpoint: (observer) => podEndpoint(p, observer) });

// ───────────────────────────── policy attributions (what the starter policies give) ─────────────────────────────

const policy = (kind, namespace, name) => ({ name, ...(namespace ? { namespace } : {}), kind, revision: '7' });
const BY = {
  frontend: policy('CiliumNetworkPolicy', 'shop', 'frontend'),
  apiIngress: policy('CiliumNetworkPolicy', 'shop', 'api-ingress'),
  apiEgress: policy('CiliumNetworkPolicy', 'shop', 'api-egress'),
  postgres: policy('NetworkPolicy', 'data', 'postgres'),
  redis: policy('CiliumNetworkPolicy', 'data', 'redis'),
  payments: policy('CiliumNetworkPolicy', 'payments', 'payments'),
  prometheusEgress: policy('CiliumNetworkPolicy', 'monitoring', 'prometheus-egress'),
  scrape: policy('CiliumClusterwideNetworkPolicy', null, 'allow-prometheus-scrape'),
  metadata: policy('CiliumClusterwideNetworkPolicy', null, 'deny-cloud-metadata'),
  baseline: (ns) => policy('CiliumNetworkPolicy', ns, 'baseline'),
};

// ───────────────────────────── flow records ─────────────────────────────

const records = [];
function nanoTime(ms, ns) {
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds()).padStart(3, '0')}${String(ns).padStart(6, '0')}Z`;
}

/**
 * Appends one Hubble record. Fields follow flow.proto's order, as protojson prints them.
 * `o`: { ms, src, dst, l4, verdict, type ('trace'|'policy'|'drop'|'l7'), dir, observer, ... }
 */
function emit(o) {
  const observer = o.observer;
  // The time is set when the recording is put in order (see the end of the scenario).
  const f = { time: '', uuid: uuid(), verdict: o.verdict };
  if (o.verdict === 'DROPPED' && o.dropCode) f.drop_reason = o.dropCode;
  f.IP = { source: o.src.ip, destination: o.dst.ip, ipVersion: 'IPv4' };
  f.l4 = o.l4;
  f.source = o.src.endpoint(observer);
  f.destination = o.dst.endpoint(observer);
  f.Type = o.type === 'l7' ? 'L7' : 'L3_L4';
  f.node_name = `${CLUSTER}/${observer}`;
  if (o.src.names) f.source_names = o.src.names;
  if (o.dst.names) f.destination_names = o.dst.names;
  if (o.l7) f.l7 = o.l7;
  f.event_type =
    o.type === 'l7' ? { type: 129 } : o.type === 'policy' ? { type: 5 } : o.type === 'drop' ? { type: 1, sub_type: o.dropCode } : { type: 4, sub_type: o.subType ?? 0 };
  if (o.dir) f.traffic_direction = o.dir;
  if (o.type === 'policy') f.policy_match_type = o.matchType ?? 2;
  if (o.type === 'trace') f.trace_observation_point = o.point ?? 'TO_ENDPOINT';
  if (o.verdict === 'DROPPED') f.drop_reason_desc = o.dropDesc;
  f.is_reply = Boolean(o.reply);
  if (o.iface) f.interface = o.iface;
  f.Summary = o.summary;
  if (o.egressAllowedBy?.length) f.egress_allowed_by = o.egressAllowedBy;
  if (o.ingressAllowedBy?.length) f.ingress_allowed_by = o.ingressAllowedBy;
  if (o.egressDeniedBy?.length) f.egress_denied_by = o.egressDeniedBy;
  if (o.ingressDeniedBy?.length) f.ingress_denied_by = o.ingressDeniedBy;
  records.push({ ms: o.ms, seq: records.length, flow: f });
}

const FLAG_NAMES = { SYN: 'SYN', ACK: 'ACK', PSH: 'PSH', FIN: 'FIN', RST: 'RST' };
const tcpL4 = (sport, dport, flags) => ({
  TCP: { source_port: sport, destination_port: dport, flags: Object.fromEntries(flags.map((k) => [k, true])) },
});
const tcpSummary = (flags) => `TCP Flags: ${[...flags].sort().map((k) => FLAG_NAMES[k]).join(', ')}`;
const ephemeral = () => int(32_768, 60_999);
const nodeOf = (ep) => ep.node ?? ep.pod?.node;

/**
 * A TCP connection that the policies allow: the policy-verdict events of its first packet, the handshake, then
 * either HTTP exchanges (L7 records through the proxy) or a data packet, then the close.
 */
function tcpAllowed(ms, srcP, dstP, dport, { egress = [], ingress = [], http = null, redirected = false } = {}) {
  const src = peer(srcP);
  const dst = peer(dstP);
  const sport = ephemeral();
  const srcNode = nodeOf(src);
  const dstNode = nodeOf(dst);
  if (src.pod) {
    emit({ ms, src, dst, l4: tcpL4(sport, dport, ['SYN']), verdict: 'FORWARDED', type: 'policy', dir: 'EGRESS', observer: srcNode,
      summary: tcpSummary(['SYN']), egressAllowedBy: egress });
  }
  if (dst.pod) {
    // The L7 rules sit on the destination's ingress: that is where the connection is redirected to the proxy.
    emit({ ms: ms + 1, src, dst, l4: tcpL4(sport, dport, ['SYN']), verdict: redirected ? 'REDIRECTED' : 'FORWARDED', type: 'policy', dir: 'INGRESS', observer: dstNode,
      summary: tcpSummary(['SYN']), ingressAllowedBy: ingress });
  }
  const observer = dstNode ?? srcNode;
  emit({ ms: ms + 1, src, dst, l4: tcpL4(sport, dport, ['SYN']), verdict: 'FORWARDED', type: 'trace', dir: 'INGRESS',
    point: redirected ? 'TO_PROXY' : 'TO_ENDPOINT', subType: redirected ? 1 : 0, observer, summary: tcpSummary(['SYN']) });
  emit({ ms: ms + 2, src: dst, dst: src, l4: tcpL4(dport, sport, ['SYN', 'ACK']), verdict: 'FORWARDED', type: 'trace',
    dir: 'INGRESS', reply: true, point: 'TO_STACK', subType: 3, observer, summary: tcpSummary(['SYN', 'ACK']) });
  let t = ms + 3;
  if (http) {
    for (const req of http) {
      t += int(1, 40);
      httpExchange(t, src, dst, sport, dport, req, observer);
      t += int(2, 60);
    }
  } else {
    emit({ ms: t, src, dst, l4: tcpL4(sport, dport, ['ACK', 'PSH']), verdict: 'FORWARDED', type: 'trace', dir: 'INGRESS',
      point: 'TO_ENDPOINT', observer, summary: tcpSummary(['ACK', 'PSH']) });
  }
  emit({ ms: t + int(5, 300), src, dst, l4: tcpL4(sport, dport, ['ACK', 'FIN']), verdict: 'FORWARDED', type: 'trace',
    dir: 'INGRESS', point: 'TO_ENDPOINT', observer, summary: tcpSummary(['ACK', 'FIN']) });
}

/** One HTTP request through the L7 proxy and its response; a request the rules refuse is DROPPED (403 sent back). */
function httpExchange(ms, src, dst, sport, dport, req, observer) {
  const host = `${dst.pod.name}.${dst.pod.ns}.svc.cluster.local:${dport}`;
  const url = `http://${host}${req.path}`;
  const headers = [
    { key: ':authority', value: host },
    { key: 'Accept', value: 'application/json' },
    ...(req.contentType ? [{ key: 'Content-Type', value: req.contentType }] : []),
    { key: 'User-Agent', value: 'shop-frontend/2.14.1' },
    { key: 'X-Request-Id', value: uuid() },
  ];
  const l4 = tcpL4(sport, dport, []);
  delete l4.TCP.flags;
  const request = { method: req.method, url, protocol: 'HTTP/1.1', headers };
  if (req.denied) {
    emit({ ms, src, dst, l4, verdict: 'DROPPED', type: 'l7', dir: 'INGRESS', observer, dropDesc: 'POLICY_DENIED',
      l7: { type: 'REQUEST', http: request }, summary: `HTTP/1.1 ${req.method} ${url}` });
    return;
  }
  emit({ ms, src, dst, l4, verdict: 'FORWARDED', type: 'l7', dir: 'INGRESS', observer,
    l7: { type: 'REQUEST', http: request }, summary: `HTTP/1.1 ${req.method} ${url}` });
  const latency = int(900_000, 45_000_000);
  const l4r = { TCP: { source_port: dport, destination_port: sport } };
  emit({ ms: ms + Math.ceil(latency / 1e6), src: dst, dst: src, l4: l4r, verdict: 'FORWARDED', type: 'l7', dir: 'INGRESS',
    observer, reply: true,
    l7: { type: 'RESPONSE', latency_ns: String(latency), http: { code: req.code ?? 200, method: req.method, url, protocol: 'HTTP/1.1',
      headers: [{ key: 'Content-Type', value: 'application/json' }, { key: 'X-Request-Id', value: headers.at(-1).value }] } },
    summary: `HTTP/1.1 ${req.code ?? 200} ${Math.round(latency / 1e6)}ms (${req.method} ${url})` });
}

/**
 * A connection the policies drop: the policy-verdict event and the drop of the first SYN, then retransmissions
 * (1 s, 3 s later) that are dropped again.
 */
function tcpDropped(ms, srcP, dstP, dport, { at, deny = null, retries = 2 }) {
  const src = peer(srcP);
  const dst = peer(dstP);
  const sport = ephemeral();
  const observer = at === 'egress' ? nodeOf(src) : nodeOf(dst);
  const code = deny ? 181 : 133;
  const desc = deny ? 'POLICY_DENY' : 'POLICY_DENIED';
  const dir = at === 'egress' ? 'EGRESS' : 'INGRESS';
  const denied = deny ? (at === 'egress' ? { egressDeniedBy: [deny] } : { ingressDeniedBy: [deny] }) : {};
  emit({ ms, src, dst, l4: tcpL4(sport, dport, ['SYN']), verdict: 'DROPPED', dropCode: code, dropDesc: desc, type: 'policy',
    dir, observer, matchType: deny ? 1 : 0, summary: tcpSummary(['SYN']), ...denied });
  for (let i = 0, delay = 0; i <= retries; i++, delay = delay * 2 + 1000) {
    emit({ ms: ms + delay + 1, src, dst, l4: tcpL4(sport, dport, ['SYN']), verdict: 'DROPPED', dropCode: code, dropDesc: desc,
      type: 'drop', dir, observer, summary: tcpSummary(['SYN']) });
  }
}

/** A DNS lookup through Cilium's DNS proxy: the policy verdict of the query packet, the query and the answer. */
function dnsLookup(ms, clientPod, query, ips, { allowedBy = [] } = {}) {
  const src = peer(clientPod);
  const dns = peer(pick(podsOf('coredns')));
  const sport = ephemeral();
  const observer = clientPod.node;
  const l4 = { UDP: { source_port: sport, destination_port: 53 } };
  emit({ ms, src, dst: dns, l4, verdict: 'REDIRECTED', type: 'policy', dir: 'EGRESS', observer, matchType: 2,
    summary: 'UDP', egressAllowedBy: allowedBy });
  const fqdn = `${query}.`;
  emit({ ms: ms + 1, src, dst: dns, l4, verdict: 'FORWARDED', type: 'l7', dir: 'EGRESS', observer,
    l7: { type: 'REQUEST', dns: { query: fqdn, observation_source: 'proxy', qtypes: ['A'] } },
    summary: `DNS Query ${fqdn} A` });
  const latency = int(300_000, 4_000_000);
  const answer = ips.length > 0
    ? { query: fqdn, ips, ttl: query.endsWith('.cluster.local') ? 30 : int(60, 300), observation_source: 'proxy', qtypes: ['A'], rrtypes: ['A'] }
    : { query: fqdn, ttl: 30, observation_source: 'proxy', rcode: 3, qtypes: ['A'] };
  emit({ ms: ms + 2, src: dns, dst: src, l4: { UDP: { source_port: 53, destination_port: sport } }, verdict: 'FORWARDED',
    type: 'l7', dir: 'EGRESS', observer, reply: true,
    l7: { type: 'RESPONSE', latency_ns: String(latency), dns: answer },
    summary: ips.length > 0
      ? `DNS Answer "${ips.join(',')}" TTL: ${answer.ttl} (Proxy ${fqdn} A)`
      : `DNS Answer RCode: Non-Existent Domain TTL: 30 (Proxy ${fqdn} A)` });
}

/** CoreDNS forwarding an external name upstream (kube-system is not default-deny: nothing is enforced). */
function upstreamDns(ms, query) {
  const dns = peer(pick(podsOf('coredns')));
  const upstream = world('8.8.8.8');
  const sport = ephemeral();
  emit({ ms, src: dns, dst: upstream, l4: { UDP: { source_port: sport, destination_port: 53 } }, verdict: 'FORWARDED', type: 'trace',
    dir: 'EGRESS', point: 'TO_STACK', subType: 3, observer: dns.pod.node, summary: 'UDP' });
  emit({ ms: ms + int(4, 20), src: upstream, dst: dns, l4: { UDP: { source_port: 53, destination_port: sport } }, verdict: 'FORWARDED',
    type: 'trace', dir: 'EGRESS', reply: true, point: 'TO_ENDPOINT', observer: dns.pod.node, summary: 'UDP' });
  void query;
}

// ───────────────────────────── the scenario ─────────────────────────────

const svc = (name) => SERVICES.find((s) => s.name === name);
const svcName = (s) => `${s.name}.${s.ns}.svc.cluster.local`;
const STRIPE_IPS = ['54.187.174.169', '54.187.205.235', '54.187.216.72'];
const FONT_IPS = ['142.250.74.138'];
const LB_SOURCES = ['35.191.12.7', '35.191.208.19', '130.211.1.44', '130.211.3.90'];
const SCANNERS = ['45.148.10.83', '193.163.125.201'];

const API_ROUTES = [
  { method: 'GET', path: '/api/v1/products' },
  { method: 'GET', path: '/api/v1/products?category=shoes&page=2' },
  { method: 'GET', path: '/api/v1/products/1042' },
  { method: 'GET', path: '/api/v1/cart' },
  { method: 'POST', path: '/api/v1/orders', contentType: 'application/json', code: 201 },
];
const REFUSED_ROUTES = [
  { method: 'GET', path: '/internal/debug/pprof/', denied: true },
  { method: 'DELETE', path: '/api/v1/orders/77', denied: true },
  { method: 'POST', path: '/api/v1/orders', contentType: 'text/plain', denied: true },
];

for (let round = 0; round < ROUNDS; round++) {
  const t0 = START_MS + round * ROUND_MS + int(0, 400);
  const [fe, api] = [pick(podsOf('frontend')), pick(podsOf('api'))];

  // Shoppers through Cilium's ingress, and the cloud load balancer's health checks.
  for (let i = 0; i < 2; i++) tcpAllowed(t0 + int(0, 2000), INGRESS, pick(podsOf('frontend')), 8443, { ingress: [BY.frontend] });
  if (round % 2 === 0) tcpAllowed(t0 + int(0, 3000), world(pick(LB_SOURCES)), pick(podsOf('frontend')), 8443, { ingress: [BY.frontend] });

  // The frontend resolves and calls the API (HTTP through the L7 proxy on the API side).
  if (round % 4 === 0) dnsLookup(t0 + 2100, fe, svcName(svc('api')), [svc('api').ip], { allowedBy: [BY.baseline('shop')] });
  const requests = Array.from({ length: int(1, 3) }, () => pick(API_ROUTES));
  if (round % 5 === 3) requests.push(pick(REFUSED_ROUTES));
  tcpAllowed(t0 + 2200, fe, api, 8080, { egress: [BY.frontend], ingress: [BY.apiIngress], http: requests, redirected: true });

  // The API uses postgres, redis and payments.
  if (round % 4 === 1) {
    for (const s of ['db', 'cache', 'payments']) dnsLookup(t0 + 2400, api, svcName(svc(s)), [svc(s).ip], { allowedBy: [BY.baseline('shop')] });
  }
  tcpAllowed(t0 + 2600, api, podsOf('db')[0], 5432, { egress: [BY.apiEgress], ingress: [BY.postgres] });
  tcpAllowed(t0 + 2700, api, podsOf('cache')[0], 6379, { egress: [BY.apiEgress], ingress: [BY.redis] });
  if (round % 3 === 0) {
    const pay = podsOf('payments')[0];
    tcpAllowed(t0 + 2800, api, pay, 8443, { egress: [BY.apiEgress], ingress: [BY.payments] });
    // Payments charges the card: Stripe by name (toFQDNs needs the lookup first), then the fraud-scoring partner.
    if (round % 6 === 0) {
      upstreamDns(t0 + 2850, 'api.stripe.com');
      dnsLookup(t0 + 2860, pay, 'api.stripe.com', STRIPE_IPS, { allowedBy: [BY.baseline('payments')] });
    }
    tcpAllowed(t0 + 2900, pay, world(pick(STRIPE_IPS), ['fqdn:api.stripe.com'], 16_777_217, ['api.stripe.com']), 443, { egress: [BY.payments] });
    tcpAllowed(t0 + 3100, pay, world(`198.51.100.${int(10, 120)}`, ['cidr:198.51.100.0/24'], 16_777_218), 443, { egress: [BY.payments] });
  }

  // Kubelet readiness probes from each pod's own node.
  for (const p of pods) {
    if (p.ns === 'kube-system' || round % 4 !== 1) continue;
    const port = p.ports[0][1];
    if (p.ports[0][2] !== 'TCP') continue;
    tcpAllowed(t0 + int(3200, 5000), hostOf(p.node), p, port);
  }

  // Prometheus scrapes every pod's metrics port every 30 s, and tries CoreDNS's 9153 (its egress allows only 9090).
  if (round % 4 === 0) {
    const prom = podsOf('prometheus')[0];
    for (const p of pods) {
      if (p === prom || p.ns === 'kube-system') continue;
      tcpAllowed(t0 + int(5000, 9000), prom, p, 9090, { egress: [BY.prometheusEgress], ingress: [BY.scrape] });
    }
    if (round % 8 === 0) tcpDropped(t0 + 9100, prom, pick(podsOf('coredns')), 9153, { at: 'egress', retries: 1 });
  }
}

// What the starter policies stop, a few times each over the recording.
const at = (s) => START_MS + s * 1000 + int(0, 900);
// A frontend bug: it talks to postgres directly.
tcpDropped(at(41), podsOf('frontend')[0], podsOf('db')[0], 5432, { at: 'egress' });
tcpDropped(at(162), podsOf('frontend')[1], podsOf('db')[0], 5432, { at: 'egress' });
// A compromised dependency in the API asks the cloud metadata service for credentials.
tcpDropped(at(77), podsOf('api')[1], world('169.254.169.254'), 80, { at: 'egress', deny: BY.metadata });
tcpDropped(at(201), podsOf('api')[0], world('169.254.169.254'), 80, { at: 'egress', deny: BY.metadata, retries: 1 });
// Internet scanners knocking on the frontend's SSH and admin ports.
tcpDropped(at(95), world(SCANNERS[0]), podsOf('frontend')[1], 22, { at: 'ingress', retries: 1 });
tcpDropped(at(96), world(SCANNERS[0]), podsOf('frontend')[1], 8080, { at: 'ingress', retries: 0 });
tcpDropped(at(188), world(SCANNERS[1]), podsOf('frontend')[0], 22, { at: 'ingress', retries: 1 });
// The frontend fetches web fonts at run time: resolved through DNS (allowed), then the HTTPS call is dropped.
dnsLookup(at(130), podsOf('frontend')[0], 'fonts.googleapis.com', FONT_IPS, { allowedBy: [BY.baseline('shop')] });
tcpDropped(at(130) + 5, podsOf('frontend')[0], world(FONT_IPS[0]), 443, { at: 'egress' });
// Payments reaches the partner's maintenance subnet, which its CIDR rule excepts.
tcpDropped(at(150), podsOf('payments')[0], world('198.51.100.140'), 443, { at: 'egress' });
// A lookup of a name that does not exist.
dnsLookup(at(60), podsOf('api')[0], 'db.data.svc.cluster.local.shop.svc.cluster.local', [], { allowedBy: [BY.baseline('shop')] });

// In time order; flows within one millisecond get increasing sub-millisecond parts, as a real capture would.
records.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
let lastMs = -1;
let lastNs = 0;
const lines = records.map((r) => {
  lastNs = r.ms === lastMs ? lastNs + int(1_000, 90_000) : int(0, 400_000);
  lastMs = r.ms;
  const time = nanoTime(r.ms, Math.min(lastNs, 999_999));
  r.flow.time = time;
  return JSON.stringify({ flow: r.flow, node_name: r.flow.node_name, time });
});
output(join(here, 'recorded.json'), lines.join('\n') + '\n');

// ───────────────────────────── the inventory ─────────────────────────────

const created = '2026-11-19T16:42:07Z';
const items = [];
for (const p of pods) {
  const owner = p.workload.kind === 'StatefulSet'
    ? { apiVersion: 'apps/v1', kind: 'StatefulSet', name: p.workload.name }
    : { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.workload.name}-${p.rsHash}` };
  items.push({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      creationTimestamp: created,
      ...(p.workload.kind === 'Deployment' ? { generateName: `${p.workload.name}-${p.rsHash}-` } : {}),
      labels: { ...p.labels, ...(p.workload.kind === 'Deployment' ? { 'pod-template-hash': p.rsHash } : { 'apps.kubernetes.io/pod-index': p.podName.split('-').at(-1), 'statefulset.kubernetes.io/pod-name': p.podName }) },
      name: p.podName,
      namespace: p.ns,
      ownerReferences: [{ ...owner, blockOwnerDeletion: true, controller: true, uid: uuid() }],
      resourceVersion: String(int(1000, 99999)),
      uid: uuid(),
    },
    spec: {
      containers: [{
        image: p.image,
        imagePullPolicy: 'IfNotPresent',
        name: p.workload.name,
        ports: p.ports.map(([name, containerPort, protocol]) => ({ containerPort, name, protocol })),
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      }],
      dnsPolicy: 'ClusterFirst',
      nodeName: p.node,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      serviceAccount: p.sa,
      serviceAccountName: p.sa,
      terminationGracePeriodSeconds: 30,
    },
    status: {
      hostIP: NODES[p.node].ip,
      hostIPs: [{ ip: NODES[p.node].ip }],
      phase: 'Running',
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      qosClass: 'BestEffort',
      startTime: created,
    },
  });
}
for (const [ns, labels] of Object.entries(NAMESPACES)) {
  items.push({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { creationTimestamp: created, labels: { 'kubernetes.io/metadata.name': ns, ...labels }, name: ns, resourceVersion: String(int(10, 999)), uid: uuid() },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}
for (const s of SERVICES) {
  items.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { creationTimestamp: created, labels: { app: s.name }, name: s.name, namespace: s.ns, resourceVersion: String(int(1000, 99999)), uid: uuid() },
    spec: {
      clusterIP: s.ip,
      clusterIPs: [s.ip],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: s.ports.map(([name, port, protocol, targetPort]) => ({ name, port, protocol, targetPort })),
      selector: s.selector,
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  });
}
// kubectl prints objects through unstructured maps: keys sorted, four-space indent.
const sortKeys = (v) =>
  Array.isArray(v) ? v.map(sortKeys)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
    : v;
output(
  join(here, '..', 'inventory.json'),
  JSON.stringify(sortKeys({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }), null, 4) + '\n',
);
if (CHECK && stale.length > 0) {
  process.stderr.write(`out of date (run generate.mjs): ${stale.join(', ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`recorded.json: ${records.length} flows; inventory.json: ${items.length} objects${CHECK ? ' (up to date)' : ''}\n`);
}
