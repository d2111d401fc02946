import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '../../pipeline/flows/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowInputError, FlowIoError, FlowReader, Inventory } from '../../pipeline/flows/index.js';
import type { Flow } from '../../pipeline/core/flow/types.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, '../shared/corpus/hubble');
const haveCorpus = existsSync(corpus);
if (!haveCorpus && process.env.CI !== 'true') console.warn(`corpus not found at ${corpus}: corpus flow tests skipped`);

async function collect(reader: FlowReader): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of reader.flows()) out.push(f);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-flows-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

const tcpFlow = (over: Record<string, unknown> = {}) => ({
  time: '2024-01-01T00:00:00Z',
  verdict: 'FORWARDED',
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
  l4: { TCP: { source_port: 40000, destination_port: 80 } },
  source: { identity: 300, namespace: 'default', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'], pod_name: 'web-7d4b9c8f6d-abcde' },
  destination: { identity: 301, namespace: 'default', labels: ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=default'], pod_name: 'api-0' },
  ...over,
});

describe.skipIf(!haveCorpus && process.env.CI !== 'true')('the Hubble corpus', () => {
  const files = haveCorpus
    ? readdirSync(corpus, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name))
    : [];
  it('has files', () => expect(files.length).toBeGreaterThanOrEqual(10));
  it.each(files)('%s loads completely', async (path) => {
    const reader = new FlowReader([path]);
    const flows = await collect(reader);
    const nonBlank = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    expect(reader.stats.invalid).toBe(0);
    expect(reader.stats.flows + reader.stats.notFlows + reader.stats.unjudgeable).toBe(nonBlank);
    expect(flows.length).toBeGreaterThan(0);
    expect(flows.map((f) => f.index)).toEqual(flows.map((_, i) => i));
  });
  it('normalises a real flow: labels, kinds, reply, ports', async () => {
    const flows = await collect(new FlowReader([join(corpus, 'hubble-otel-testdata/basic-sample-10-flows.json')]));
    const first = flows[0]!;
    expect(first.src.kind).toBe('pod');
    expect(first.src.labels).toContainEqual({ source: 'k8s', key: 'app', value: 'reviews' });
    expect(first.src.namespace).toBe('bookinfo');
    expect(first.src.workload).toBe('reviews-v1');
    expect(first.dst.kind).toBe('host');
    expect(first.isReply).toBe(true); // "reply": true without is_reply
    expect(first).toMatchObject({ protocol: 'TCP', srcPort: 15020, dstPort: 42044 });
  });
  it('reads DNS answers and HTTP requests', async () => {
    const dns = await collect(new FlowReader([join(corpus, 'hubble-otel-testdata/basic-sample-330-dns-flows.first60.json')]));
    expect(dns.some((f) => f.dns && f.dns.query.length > 0)).toBe(true);
    const http = await collect(new FlowReader([join(corpus, 'hubble-otel-testdata/basic-sample-5-http-flows.json')]));
    expect(http[0]!.http).toMatchObject({ method: 'GET', url: 'http://10.128.0.4:9990/metrics' });
    expect(http[0]!.dst.kind).toBe('world');
  });
  it('reads ICMP and IPv6 and label-less endpoints', async () => {
    const icmp = await collect(new FlowReader([join(corpus, 'hubble-otel-testdata/basic-sample-400-icmpv4-flows.json')]));
    expect(icmp[0]).toMatchObject({ protocol: 'ICMPv4', icmpType: 8, isReply: false });
    expect(icmp[0]!.dst.kind).toBe('health');
    expect(icmp[1]).toMatchObject({ icmpType: 0, isReply: true });
    const dropped = await collect(new FlowReader([join(corpus, 'cilium-docs-export-dropped-flows.jsonl')]));
    expect(dropped[0]).toMatchObject({ protocol: 'ICMPv6', icmpType: 133 });
    expect(dropped[0]!.src.ip).toBe('fe80::64d8:8aff:fe72:fc14');
    expect(dropped[1]!.src).toMatchObject({ kind: 'pod', namespace: 'default', podName: 'xwing' });
    expect(dropped[1]!.src.labels).toContainEqual({ source: 'k8s', key: 'io.kubernetes.pod.namespace', value: 'default' });
  });
});

describe('line handling', () => {
  it('reads bare flows and envelopes, and counts non-flow lines and blanks', async () => {
    const p = await file(
      'mixed.json',
      [
        JSON.stringify(tcpFlow()),
        '',
        JSON.stringify({ lost_events: { source: 'PERF_EVENT_RING_BUFFER', num_events_lost: 3 }, node_name: 'n1', time: 't' }),
        JSON.stringify({ flow: tcpFlow({ is_reply: true }), node_name: 'n1', time: 't' }),
        JSON.stringify({ agent_event: { type: 'ENDPOINT_CREATED' } }),
        JSON.stringify({ flow: { ...tcpFlow(), l4: undefined, ethernet: { source: 'a', destination: 'b' } } }),
      ].join('\n'),
    );
    const reader = new FlowReader([p]);
    const flows = await collect(reader);
    expect(flows).toHaveLength(2);
    expect(flows[1]).toMatchObject({ index: 1, isReply: true });
    expect(reader.stats).toMatchObject({ lines: 6, flows: 2, blank: 1, notFlows: 2, unjudgeable: 1, invalid: 0 });
  });

  it('names file and line of a malformed line', async () => {
    const p = await file('bad.json', `${JSON.stringify(tcpFlow())}\n{"flow": {"IP": \n${JSON.stringify(tcpFlow())}\n`);
    const err = await collect(new FlowReader([p])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowInputError);
    expect((err as FlowInputError).pos).toMatchObject({ file: p, line: 2 });
    expect((err as FlowInputError).code).toBe('flows-invalid-json');
  });

  it('skips and counts malformed lines with skipInvalid', async () => {
    const p = await file(
      'bad2.json',
      [JSON.stringify(tcpFlow()), 'garbage', '[1,2]', JSON.stringify(tcpFlow({ IP: { source: '10.0.0.999', destination: '10.0.0.1' } })), JSON.stringify(tcpFlow())].join('\n'),
    );
    const reader = new FlowReader([p], { skipInvalid: true });
    const flows = await collect(reader);
    expect(flows.map((f) => f.index)).toEqual([0, 1]);
    expect(reader.stats.invalid).toBe(3);
    expect(reader.stats.invalidSamples[2]).toContain(':4:');
  });

  it('rejects a flow with an impossible port', async () => {
    const p = await file('port.json', JSON.stringify(tcpFlow({ l4: { TCP: { destination_port: 70000 } } })));
    const err = await collect(new FlowReader([p])).catch((e: unknown) => e);
    expect((err as FlowInputError).code).toBe('flows-invalid-flow');
  });

  it('rejects non-string endpoint labels, also for an endpoint it has already cached', async () => {
    const good = tcpFlow();
    const bad = tcpFlow({ source: { ...good.source, labels: ['k8s:app=web', 7] } });
    const first = await file('labels1.json', JSON.stringify(bad));
    const err1 = await collect(new FlowReader([first])).catch((e: unknown) => e);
    expect(err1).toMatchObject({ code: 'flows-invalid-flow', pos: { line: 1 } });
    expect((err1 as Error).message).toContain('labels must be a list of strings');
    const later = await file('labels2.json', [good, good, bad].map((f) => JSON.stringify(f)).join('\n'));
    const err2 = await collect(new FlowReader([later])).catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'flows-invalid-flow', pos: { line: 3 } });
  });

  it('hands out flows in small batches, in order, and the flows before a bad line first', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(tcpFlow({ l4: { TCP: { source_port: 1000 + i, destination_port: 80 } } })));
    const p = await file('many.json', lines.join('\n'));
    const sizes: number[] = [];
    const ports: number[] = [];
    for await (const batch of new FlowReader([p]).batches()) {
      sizes.push(batch.length);
      for (const f of batch) ports.push(f.srcPort!);
    }
    expect(ports).toEqual(lines.map((_, i) => 1000 + i));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    const broken = await file('many-bad.json', [...lines.slice(0, 150), '{"flow":', ...lines.slice(150)].join('\n'));
    const seen: number[] = [];
    const err = await (async () => {
      for await (const batch of new FlowReader([broken]).batches()) for (const f of batch) seen.push(f.index);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'flows-invalid-json', pos: { line: 151 } });
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  it('bounds the line length', async () => {
    const p = await file('long.json', `${JSON.stringify(tcpFlow())}\n${'x'.repeat(5000)}\n${JSON.stringify(tcpFlow())}`);
    const err = await collect(new FlowReader([p], { maxLineBytes: 2000 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'flows-line-too-long', pos: { line: 2 } });
    const reader = new FlowReader([p], { maxLineBytes: 2000, skipInvalid: true });
    expect(await collect(reader)).toHaveLength(2);
  });

  it('reads gzip files, stdin and several sources in order, with CRLF', async () => {
    const lines = [tcpFlow(), tcpFlow({ l4: { UDP: { source_port: 1, destination_port: 53 } } })].map((f) => JSON.stringify(f)).join('\r\n');
    const gz = await file('f.json.gz', gzipSync(lines));
    const stdin = Readable.from([Buffer.from(gzipSync(JSON.stringify(tcpFlow({ l4: { SCTP: { destination_port: 9 } } }))))]);
    const flows = await collect(new FlowReader([gz, '-'], { stdin }));
    expect(flows.map((f) => [f.index, f.protocol, f.dstPort])).toEqual([
      [0, 'TCP', 80],
      [1, 'UDP', 53],
      [2, 'SCTP', 9],
    ]);
  });

  it('reports an unreadable file as an I/O error', async () => {
    const err = await collect(new FlowReader([join(dir, 'missing.json')])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowIoError);
    expect((err as FlowIoError).code).toBe('io-unreadable');
  });
});

describe('endpoint normalisation', () => {
  async function one(over: Record<string, unknown>, inventory?: Inventory): Promise<Flow> {
    const p = await file(`one-${Math.random()}.json`, JSON.stringify(tcpFlow(over)));
    return (await collect(new FlowReader([p], inventory ? { inventory } : {})))[0]!;
  }
  it('maps reserved labels and identities to kinds', async () => {
    expect((await one({ destination: { identity: 1, labels: ['reserved:host'] } })).dst.kind).toBe('host');
    expect((await one({ destination: { identity: 6 } })).dst).toMatchObject({ kind: 'remote-node', labels: [{ source: 'reserved', key: 'remote-node', value: '' }] });
    expect((await one({ destination: { identity: 16777217, labels: ['cidr:1.2.3.0/24', 'reserved:world'] } })).dst.kind).toBe('world');
    expect((await one({ destination: { labels: ['reserved:kube-apiserver', 'reserved:host'] } })).dst.kind).toBe('host');
    expect((await one({ destination: {} })).dst.kind).toBe('world');
  });
  it('canonicalises IPv6 addresses', async () => {
    const f = await one({ IP: { source: '2001:DB8:0:0::1', destination: 'fd00::0:2', ipVersion: 'IPv6' } });
    expect([f.src.ip, f.dst.ip]).toEqual(['2001:db8::1', 'fd00::2']);
  });
  it('enriches label-less endpoints from the inventory by IP, with namespace labels, ports and workload', async () => {
    const inventory = new Inventory([
      { kind: 'Namespace', metadata: { name: 'x', labels: { ns: 'x' } } },
      {
        kind: 'Pod',
        metadata: { name: 'a', namespace: 'x', labels: { pod: 'a' }, ownerReferences: [{ kind: 'StatefulSet', name: 'a-set', controller: true }] },
        spec: { serviceAccountName: 'sa1', containers: [{ ports: [{ name: 'serve-80-tcp', containerPort: 80 }, { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' }] }] },
        status: { podIP: '10.0.0.2', podIPs: [{ ip: '10.0.0.2' }, { ip: 'fd00::2' }] },
      },
    ]);
    const f = await one({ destination: { identity: 0 } }, inventory);
    expect(f.dst.kind).toBe('pod');
    expect(f.dst.namespace).toBe('x');
    expect(f.dst.podName).toBe('a');
    expect(f.dst.workload).toBe('a-set');
    expect(f.dst.namedPorts).toEqual([
      { name: 'serve-80-tcp', port: 80, protocol: 'TCP' },
      { name: 'serve-81-udp', port: 81, protocol: 'UDP' },
    ]);
    const text = f.dst.labels.map((l) => `${l.source}:${l.key}=${l.value}`);
    expect(text).toEqual(
      expect.arrayContaining([
        'k8s:pod=a',
        'k8s:io.kubernetes.pod.namespace=x',
        'k8s:io.cilium.k8s.namespace.labels.ns=x',
        'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=x',
        'k8s:io.cilium.k8s.policy.serviceaccount=sa1',
      ]),
    );
  });
  it('adds namespace labels to labelled pods that lack them, and finds pods by name', async () => {
    const inventory = new Inventory([
      { kind: 'List', items: [] },
      { kind: 'Namespace', metadata: { name: 'default', labels: { team: 'blue' } } },
      { kind: 'Pod', metadata: { name: 'api-0', namespace: 'default' }, spec: { containers: [{ ports: [{ name: 'http', containerPort: 8080 }] }] }, status: {} },
    ]);
    const f = await one({}, inventory);
    expect(f.dst.labels).toContainEqual({ source: 'k8s', key: 'io.cilium.k8s.namespace.labels.team', value: 'blue' });
    expect(f.dst.labels).toContainEqual({ source: 'k8s', key: 'app', value: 'api' });
    expect(f.dst.namedPorts).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(f.src.workload).toBe('web');
  });
});

describe('service addresses', () => {
  it('judges a label-less Service cluster IP as its first backend pod', async () => {
    const inventory = new Inventory([
      { kind: 'Pod', metadata: { name: 'api-b', namespace: 'shop', labels: { app: 'api' } }, status: { podIP: '10.1.0.6' } },
      { kind: 'Pod', metadata: { name: 'api-a', namespace: 'shop', labels: { app: 'api' } }, status: { podIP: '10.1.0.5' } },
      { kind: 'Service', metadata: { name: 'api', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'api' } } },
    ]);
    const p = await file('svc.json', JSON.stringify(tcpFlow({ IP: { source: '10.0.0.1', destination: '10.96.0.10' }, destination: {} })));
    const [f] = await collect(new FlowReader([p], { inventory }));
    expect(f!.dst).toMatchObject({ kind: 'pod', namespace: 'shop', podName: 'api-a', ip: '10.1.0.5' });
    expect(f!.dst.labels).toContainEqual({ source: 'k8s', key: 'app', value: 'api' });
  });
});

describe('relabelled pods', () => {
  it('a pod whose labels change mid-recording gets its new labels', async () => {
    const before = tcpFlow();
    const after = tcpFlow({ destination: { identity: 301, namespace: 'default', labels: ['k8s:app=db', 'k8s:io.kubernetes.pod.namespace=default'], pod_name: 'api-0' } });
    const p = await file('relabel.json', [before, after].map((f) => JSON.stringify(f)).join('\n'));
    const flows = await collect(new FlowReader([p]));
    expect(flows[0]!.dst.labels).toContainEqual({ source: 'k8s', key: 'app', value: 'api' });
    expect(flows[1]!.dst.labels).toContainEqual({ source: 'k8s', key: 'app', value: 'db' });
  });
});

describe('hostile input', () => {
  it('reports binary garbage with printable text and corrupt gzip with its own code', async () => {
    const bin = await file('garbage.bin', Buffer.from([0x4f, 0x01, 0x9b, 0xff, 0x0a]));
    const err = (await collect(new FlowReader([bin])).catch((e: unknown) => e)) as FlowInputError;
    expect(err.code).toBe('flows-invalid-json');
    expect(err.message).toMatch(/^[\x20-\x7e]*$/);
    const gz = await file('bad.gz', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x67, 0x61, 0x72, 0x62]));
    const gzErr = (await collect(new FlowReader([gz])).catch((e: unknown) => e)) as FlowInputError;
    expect(gzErr.code).toBe('flows-corrupt-gzip');
  });
});

describe('CPU and decompression bombs', () => {
  it('defect: 8 MiB of blank lines is skipped without parsing and counts 0 flows', async () => {
    // Regression: every blank line cost a thrown JSON.parse (8 MiB of newlines took over a minute).
    const reader = new FlowReader([await file('newlines.json', Buffer.alloc(8 << 20, 0x0a))]);
    expect(await collect(reader)).toEqual([]);
    expect(reader.stats).toMatchObject({ lines: 8 << 20, blank: 8 << 20, flows: 0, invalid: 0 });
    // Whitespace-only lines (spaces, tabs, CRLF) too; the line numbers after them stay right.
    const mixed = await file('blank-mixed.json', `${' \t\r\n\n   \r\n'.repeat(100_000)}${JSON.stringify(tcpFlow())}\n\n{"flow":\n`);
    const err = await collect(new FlowReader([mixed])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'flows-invalid-json', pos: { file: mixed, line: 300_003 } });
    const skipped = new FlowReader([mixed], { skipInvalid: true });
    expect(await collect(skipped)).toHaveLength(1);
    expect(skipped.stats).toMatchObject({ lines: 300_003, blank: 300_001, flows: 1, invalid: 1 });
  });

  it('defect: a gzip input that decompresses past the bound is refused with flows-decompressed-too-large', async () => {
    expect(DEFAULT_MAX_DECOMPRESSED_BYTES).toBe(4 * 1024 ** 3);
    // 32 MiB of newlines in about 32 KiB of gzip, against a bound of 4 MiB; one good flow first.
    const bomb = await file('bomb.json.gz', gzipSync(Buffer.concat([Buffer.from(`${JSON.stringify(tcpFlow())}\n`), Buffer.alloc(32 << 20, 0x0a)]), { level: 9 }));
    const seen: Flow[] = [];
    const err = await (async () => {
      for await (const f of new FlowReader([bomb], { maxDecompressedBytes: 4 << 20, skipInvalid: true }).flows()) seen.push(f);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowInputError);
    expect(err).toMatchObject({ code: 'flows-decompressed-too-large', pos: { file: bomb, col: 1 } });
    expect((err as FlowInputError).pos.line).toBeGreaterThan(1);
    expect((err as FlowInputError).pos.line).toBeLessThanOrEqual((4 << 20) + 2);
    expect((err as Error).message).toContain('4 MiB');
    expect(seen).toHaveLength(1);
    // The same bomb on stdin, and a bound just large enough reads it all.
    const stdinErr = await collect(new FlowReader(['-'], { maxDecompressedBytes: 4 << 20, stdin: Readable.from([readFileSync(bomb)]) })).catch((e: unknown) => e);
    expect(stdinErr).toMatchObject({ code: 'flows-decompressed-too-large', pos: { file: '<stdin>' } });
    const enough = new FlowReader([bomb], { maxDecompressedBytes: 33 << 20 });
    expect(await collect(enough)).toHaveLength(1);
  });

  it('counts every line of a garbage recording under skipInvalid and keeps five samples', async () => {
    const reader = new FlowReader([await file('garbage-lines.json', `${'x\n[]\n{"IP":{},"l4":{"TCP":{"source_port":-1}}}\n'.repeat(100_000)}${JSON.stringify(tcpFlow())}\n`)], { skipInvalid: true });
    expect(await collect(reader)).toHaveLength(1);
    expect(reader.stats).toMatchObject({ lines: 300_001, invalid: 300_000, flows: 1 });
    expect(reader.stats.invalidSamples).toHaveLength(5);
    expect(reader.stats.invalidSamples[0]).toMatch(/:1: not JSON/);
    expect(reader.stats.invalidSamples[2]).toMatch(/:3: invalid flow: l4\.TCP\.source_port/);
  });

  it('counts a flood of malformed {...} lines under skipInvalid, and still reads the good lines among them', async () => {
    const good = JSON.stringify(tcpFlow());
    const text = `${'{x}\n{"a":}\n'.repeat(3000)}${good}\n{}\n${'{"flow": {"IP": 1}\n'.repeat(10)}${good}\n`;
    const reader = new FlowReader([await file('braces.json', text)], { skipInvalid: true });
    expect((await collect(reader)).map((f) => f.index)).toEqual([0, 1]);
    expect(reader.stats).toMatchObject({ lines: 6013, invalid: 6010, notFlows: 1, flows: 2 });
    expect(reader.stats.invalidSamples.map((m) => m.split(': ')[0])).toEqual([1, 2, 3, 4, 5].map((n) => `${reader.stats.invalidSamples[0]!.split(':')[0]}:${n}`));
  });
});
