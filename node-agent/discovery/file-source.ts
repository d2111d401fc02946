/**
 * Endpoints from a YAML or JSON file (JSON is read as YAML), re-read when its size, modification time or inode
 * changes (so an editor's or a controller's atomic rename is seen). Format:
 *
 * ```yaml
 * pods:
 *   - namespace: shop
 *     name: api-7d4f
 *     labels: {app: api}
 *     namespaceLabels: {team: web}   # optional
 *     ips: [10.0.1.5, fd00::1:5]
 *     interface: veth1a2b            # host-side interface, for pods on this node
 *     node: worker-1                 # optional: with `--node`, only pods of that node are local
 *     ports: [{name: postgres, port: 5432, protocol: TCP}]   # optional: named container ports
 * ```
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { NamedPort } from '../../pipeline/core/flow/types.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineCounter, parseDocument } from 'yaml';
import { DiscoveryError } from './errors.js';
import type { EndpointSet, EndpointSource, PodEndpoint } from './types.js';

/** Largest endpoints file read, in bytes. */
export const MAX_ENDPOINTS_FILE_BYTES = 32 * 1024 * 1024;
/** Most pods one file may list. */
export const MAX_PODS = 200_000;
const MAX_TEXT = 253;
const IFNAME = /^[A-Za-z0-9_.@:-]{1,15}$/;

/** Endpoints read from one file. */
export class FileEndpointSource implements EndpointSource {
  readonly description: string;

  /**
   * @param pollMs how often `changes` looks at the file, in milliseconds
   * @param node this node's name: pods naming another node are not local, whatever interface they list
   */
  constructor(
    private readonly path: string,
    private readonly pollMs = 1000,
    private readonly node?: string,
  ) {
    this.description = path;
  }

  async read(): Promise<EndpointSet> {
    let bytes: Buffer;
    try {
      const s = await stat(this.path);
      if (!s.isFile()) throw new DiscoveryError('endpoints-unreadable', `${this.path}: not a file`, { file: this.path, line: 0, col: 0 });
      if (s.size > MAX_ENDPOINTS_FILE_BYTES) {
        throw new DiscoveryError('endpoints-unreadable', `${this.path}: ${s.size} bytes, more than the ${MAX_ENDPOINTS_FILE_BYTES} allowed`, { file: this.path, line: 0, col: 0 });
      }
      bytes = await readFile(this.path);
    } catch (err) {
      if (err instanceof DiscoveryError) throw err;
      throw new DiscoveryError('endpoints-unreadable', `${this.path}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { file: this.path, line: 0, col: 0 }, { cause: err });
    }
    const set = parseEndpoints(bytes.toString('utf8'), this.path);
    const node = this.node;
    if (node === undefined) return set;
    return { pods: set.pods.map((p) => (p.node !== undefined && p.node !== node && p.interface !== undefined ? withoutInterface(p) : p)) };
  }

  async *changes(signal: AbortSignal, onError: (err: unknown) => void): AsyncIterable<EndpointSet> {
    let seen = await this.stamp();
    while (!signal.aborted) {
      try {
        await sleep(this.pollMs, undefined, { signal });
      } catch {
        return;
      }
      const now = await this.stamp();
      if (now === seen) continue;
      seen = now;
      try {
        yield await this.read();
      } catch (err) {
        onError(err);
      }
    }
  }

  /** Size, mtime and inode as one string ('' when the file is missing). */
  private async stamp(): Promise<string> {
    try {
      const s = await stat(this.path, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch {
      return '';
    }
  }
}

/**
 * Parses an endpoints document.
 * @returns the pods, sorted by namespace and name
 * @throws DiscoveryError `endpoints-syntax` (with line and column) or `endpoints-invalid` (naming the field)
 */
export function parseEndpoints(text: string, file: string): EndpointSet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const at = lineCounter.linePos(first.pos[0]);
    throw new DiscoveryError('endpoints-syntax', `${file}:${at.line}:${at.col}: ${first.message.split('\n')[0]}`, { file, line: at.line, col: at.col });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw new DiscoveryError('endpoints-syntax', `${file}: ${(err as Error).message.split('\n')[0]}`, { file, line: 0, col: 0 }, { cause: err });
  }
  const bad = (where: string, what: string): never => {
    throw new DiscoveryError('endpoints-invalid', `${file}: ${where}: ${what}`, { file, line: 0, col: 0 });
  };
  if (!isRecord(value) || !Array.isArray(value.pods)) bad('top level', 'expected a mapping with a `pods` list');
  const list = (value as { pods: unknown[] }).pods;
  if (list.length > MAX_PODS) bad('pods', `${list.length} pods, more than ${MAX_PODS}`);
  const seen = new Set<string>();
  const addresses = new Map<string, string>();
  const pods = list.map((raw, i): PodEndpoint => {
    const where = `pods[${i}]`;
    if (!isRecord(raw)) bad(where, 'expected a mapping');
    const p = raw as Record<string, unknown>;
    for (const k of Object.keys(p)) {
      if (!['namespace', 'name', 'labels', 'namespaceLabels', 'ips', 'interface', 'node', 'ports'].includes(k)) bad(`${where}.${k}`, 'unknown field');
    }
    const namespace = text1(p.namespace, `${where}.namespace`, bad);
    const name = text1(p.name, `${where}.name`, bad);
    const id = `${namespace}/${name}`;
    if (seen.has(id)) bad(where, `pod ${id} is listed twice`);
    seen.add(id);
    if (!Array.isArray(p.ips) || p.ips.length === 0 || p.ips.length > 16) bad(`${where}.ips`, 'expected a list of 1 to 16 addresses');
    const ips = (p.ips as unknown[]).map((ip, j) => {
      if (typeof ip !== 'string' || isIP(ip) === 0) bad(`${where}.ips[${j}]`, 'not an IPv4 or IPv6 address');
      const canon = canonicalIp(ip as string);
      const other = addresses.get(canon);
      if (other !== undefined) bad(`${where}.ips[${j}]`, `${canon} is also the address of ${other}`);
      addresses.set(canon, id);
      return canon;
    });
    let iface: string | undefined;
    if (p.interface !== undefined) {
      if (typeof p.interface !== 'string' || !IFNAME.test(p.interface)) bad(`${where}.interface`, 'not an interface name');
      iface = p.interface as string;
    }
    let node: string | undefined;
    if (p.node !== undefined) node = text1(p.node, `${where}.node`, bad);
    const namedPorts = p.ports === undefined ? undefined : parseNamedPorts(p.ports, `${where}.ports`, bad);
    return {
      namespace,
      name,
      ...(node !== undefined ? { node } : {}),
      labels: labelMap(p.labels, `${where}.labels`, bad),
      namespaceLabels: labelMap(p.namespaceLabels, `${where}.namespaceLabels`, bad),
      ips,
      ...(iface !== undefined ? { interface: iface } : {}),
      ...(namedPorts !== undefined && namedPorts.length > 0 ? { namedPorts } : {}),
    };
  });
  pods.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { pods };
}

const MAX_PORTS = 256;
/** Kubernetes' IANA_SVC_NAME: at most 15 lowercase alphanumerics and dashes, a letter among them, no dash at an end or twice. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** `[{name, port, protocol?}]` (protocol TCP by default, as in a pod spec); unnamed entries are skipped. */
function parseNamedPorts(v: unknown, where: string, bad: (where: string, what: string) => never): NamedPort[] {
  if (!Array.isArray(v) || v.length > MAX_PORTS) bad(where, `expected a list of at most ${MAX_PORTS} ports`);
  const out: NamedPort[] = [];
  (v as unknown[]).forEach((raw, j) => {
    if (!isRecord(raw)) bad(`${where}[${j}]`, 'expected a mapping');
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['name', 'port', 'containerPort', 'protocol'].includes(k)) bad(`${where}[${j}].${k}`, 'unknown field');
    const port = e.port ?? e.containerPort;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`${where}[${j}].port`, 'expected a port number 1-65535');
    const protocol = e.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') bad(`${where}[${j}].protocol`, 'expected TCP, UDP or SCTP');
    if (e.name === undefined) return;
    if (typeof e.name !== 'string' || !PORT_NAME.test(e.name)) bad(`${where}[${j}].name`, 'not a port name (IANA_SVC_NAME: up to 15 lowercase letters, digits and dashes)');
    out.push({ name: e.name as string, port: port as number, protocol: protocol as NamedPort['protocol'] });
  });
  return out;
}

function withoutInterface(p: PodEndpoint): PodEndpoint {
  const { interface: _dropped, ...rest } = p;
  return rest;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text1(v: unknown, where: string, bad: (where: string, what: string) => never): string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_TEXT) bad(where, `expected a non-empty string of at most ${MAX_TEXT} characters`);
  return v as string;
}

function labelMap(v: unknown, where: string, bad: (where: string, what: string) => never): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) bad(where, 'expected a mapping of label keys to values');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k === '' || k.length > MAX_TEXT) bad(`${where}.${k}`, 'bad label key');
    const s = typeof val === 'number' || typeof val === 'boolean' ? String(val) : val;
    if (typeof s !== 'string' || s.length > MAX_TEXT) bad(`${where}.${k}`, 'label values are strings');
    Object.defineProperty(out, k, { value: s, enumerable: true, writable: false, configurable: false });
  }
  return out;
}

/** An address as `net` prints it (IPv6 compressed, lower case). */
function canonicalIp(ip: string): string {
  if (isIP(ip) === 4) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}
