/**
 * One parsed `hubble observe -o json` line → a normalised Flow. The line is either a bare Flow or a response
 * envelope `{"flow": Flow, "node_name": …, "time": …}`; other envelopes (`lost_events`, `agent_event`,
 * `debug_event`, `node_status`) are not flows. Flows without an IP header or a known L4 header (ARP, raw L2, IP
 * protocols other than TCP/UDP/SCTP/ICMP) cannot be judged and are reported as such.
 */
import type { Flow, FlowProtocol, HttpRequest } from '../core/flow/types.js';
import { canonicalIp } from '../core/evaluate/ip-address.js';
import type { EndpointResolver, RawEndpoint } from './endpoint-resolver.js';

/** What a line turned out to be. */
export type RecordResult =
  | { readonly kind: 'flow'; readonly flow: Flow }
  | { readonly kind: 'not-a-flow' }
  | { readonly kind: 'unjudgeable'; readonly reason: string };

const FLOW_KEYS = ['IP', 'l4', 'source', 'destination', 'verdict', 'Type', 'event_type', 'ethernet'];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Thrown for a flow whose fields have impossible values; the reader adds file:line. Not an Error subclass on
 * purpose: it is thrown and caught once per bad line, and capturing a stack trace per line (about 10 µs) made a
 * recording of malformed flows a CPU bomb under `skipInvalid`.
 */
export class InvalidFlowError {
  constructor(readonly message: string) {}
}

function port(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new InvalidFlowError(`${what} must be an integer 0..65535`);
  return v;
}

function icmpField(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw new InvalidFlowError(`${what} must be an integer 0..255`);
  return v;
}

// IPv6 canonicalisation is costly; recordings repeat a bounded set of addresses, so it is done once per address.
const canonicalCache = new Map<string, string | null>();

function ip(v: unknown, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string') throw new InvalidFlowError(`${what} must be a string`);
  let c = v.indexOf(':') < 0 ? canonicalIp(v) : canonicalCache.get(v);
  if (c === undefined) {
    c = canonicalIp(v);
    if (canonicalCache.size >= 100_000) canonicalCache.clear();
    canonicalCache.set(v, c);
  }
  if (c === null) throw new InvalidFlowError(`${what} '${v.slice(0, 64)}' is not an IP address`);
  return c;
}

function httpOf(http: unknown): HttpRequest | undefined {
  if (!isObj(http)) return undefined;
  const method = typeof http.method === 'string' ? http.method : '';
  const url = typeof http.url === 'string' ? http.url : '';
  if (method === '' && url === '') return undefined;
  const headers: { key: string; value: string }[] = [];
  if (Array.isArray(http.headers)) {
    for (const h of http.headers) {
      if (isObj(h) && typeof h.key === 'string') headers.push({ key: h.key, value: typeof h.value === 'string' ? h.value : '' });
    }
  }
  return { method, url, headers };
}

function dnsOf(dns: unknown): Flow['dns'] {
  if (!isObj(dns) || typeof dns.query !== 'string') return undefined;
  const ips = Array.isArray(dns.ips) ? dns.ips.filter((x): x is string => typeof x === 'string') : [];
  return { query: dns.query, ips };
}

/**
 * Normalises one parsed line.
 * @param index the flow's position among the flows read so far (used only when the line is a flow)
 * @throws InvalidFlowError when the line is a flow with invalid fields
 */
export function normaliseHubbleRecord(record: Obj, index: number, resolver: EndpointResolver): RecordResult {
  let f: Obj;
  if (isObj(record.flow)) f = record.flow;
  else if (FLOW_KEYS.some((k) => k in record)) f = record;
  else return { kind: 'not-a-flow' };

  const ipHeader = f.IP;
  if (!isObj(ipHeader)) return { kind: 'unjudgeable', reason: 'no IP header' };
  const l4 = f.l4;
  if (!isObj(l4)) return { kind: 'unjudgeable', reason: 'no L4 header' };
  let protocol: FlowProtocol;
  let srcPort: number | undefined;
  let dstPort: number | undefined;
  let icmpType: number | undefined;
  let icmpCode: number | undefined;
  const transport = (isObj(l4.TCP) && 'TCP') || (isObj(l4.UDP) && 'UDP') || (isObj(l4.SCTP) && 'SCTP') || undefined;
  if (transport) {
    const t = l4[transport] as Obj;
    protocol = transport;
    srcPort = port(t.source_port, `l4.${transport}.source_port`);
    dstPort = port(t.destination_port, `l4.${transport}.destination_port`);
  } else if (isObj(l4.ICMPv4) || isObj(l4.ICMPv6)) {
    protocol = isObj(l4.ICMPv4) ? 'ICMPv4' : 'ICMPv6';
    const t = l4[protocol] as Obj;
    icmpType = icmpField(t.type, `l4.${protocol}.type`);
    icmpCode = icmpField(t.code, `l4.${protocol}.code`);
  } else {
    return { kind: 'unjudgeable', reason: 'unsupported L4 protocol' };
  }
  const srcIp = ip(ipHeader.source, 'IP.source');
  const dstIp = ip(ipHeader.destination, 'IP.destination');
  if (f.source !== undefined && f.source !== null && !isObj(f.source)) throw new InvalidFlowError('source must be an object');
  if (f.destination !== undefined && f.destination !== null && !isObj(f.destination)) throw new InvalidFlowError('destination must be an object');
  // The node the flow was recorded on: the local host of `reserved:host` endpoints.
  const nodeName = typeof f.node_name === 'string' ? f.node_name : typeof record.node_name === 'string' ? record.node_name : '';
  const src = resolver.resolve(f.source as RawEndpoint | undefined, srcIp, nodeName);
  const dst = resolver.resolve(f.destination as RawEndpoint | undefined, dstIp, nodeName);
  const isReply = typeof f.is_reply === 'boolean' ? f.is_reply : f.reply === true;
  // Policy sees the connection after service translation: the service side's port becomes the backend's targetPort
  // (the address already became the backend's in `resolve`). The service side is the destination, or the source of
  // a reply.
  if (transport) {
    if (isReply) srcPort = resolver.servicePort(srcIp, src, transport, srcPort!);
    else dstPort = resolver.servicePort(dstIp, dst, transport, dstPort!);
  }
  const time = typeof f.time === 'string' ? f.time : typeof record.time === 'string' ? record.time : undefined;
  const l7 = isObj(f.l7) ? f.l7 : undefined;
  const http = l7 ? httpOf(l7.http) : undefined;
  const dns = l7 ? dnsOf(l7.dns) : undefined;
  // One object shape for every flow (optional fields set to undefined) keeps property access monomorphic.
  const flow: Flow = { index, time, src, dst, protocol, srcPort, dstPort, icmpType, icmpCode, isReply, http, dns };
  return { kind: 'flow', flow };
}
