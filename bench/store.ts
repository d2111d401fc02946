/**
 * Store benchmark (`npm run bench -- store`): builds, signs and publishes a bundle of 10,000 generated policies,
 * then lets 200 concurrent clients poll `palisade serve` on loopback (GET latest with If-None-Match, the agents'
 * poll) for a bounded time and request count, and prints requests/s with p50/p99 latency next to a baseline: a bare
 * node:http server answering a constant 304, measured in the same run with the same clients. Asserts nothing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundleFromDir } from '../pipeline/bundle-build/index.js';
import { generateSigningKeyPem, parseSigningKey, signManifest } from '../pipeline/core/bundle/index.js';
import { FsBundleStore, HttpBundleStore, startStoreServer, readBundleSerial } from '../pipeline/stores/index.js';
import type { BundleDescriptor } from '../pipeline/stores/index.js';

const POLICIES = 10_000;
const POLICIES_PER_FILE = 100;
const CLIENTS = 200;
const PHASE_MS = 5_000;
// Baseline and store phases alternate, ROUNDS each, and the medians are printed, so drift hits both alike.
const ROUNDS = 3;
const MAX_REQUESTS = 1_000_000;
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

interface PollResult {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/** Writes POLICIES CiliumNetworkPolicies (100 namespaces, varied peers, ports and CIDRs), 100 per file. */
async function generatePolicies(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < POLICIES / POLICIES_PER_FILE; f++) {
    const docs: string[] = [];
    for (let i = 0; i < POLICIES_PER_FILE; i++) {
      const n = f * POLICIES_PER_FILE + i;
      const ns = `team-${n % 100}`;
      docs.push([
        'apiVersion: cilium.io/v2',
        'kind: CiliumNetworkPolicy',
        'metadata:',
        `  name: svc-${n}`,
        `  namespace: ${ns}`,
        'spec:',
        '  endpointSelector:',
        '    matchLabels:',
        `      app: svc-${n}`,
        '  ingress:',
        '    - fromEndpoints:',
        '        - matchLabels:',
        `            app: client-${(n * 7) % 500}`,
        '      toPorts:',
        '        - ports:',
        `            - port: "${1024 + (n % 4000)}"`,
        `              protocol: ${n % 5 === 0 ? 'UDP' : 'TCP'}`,
        '  egress:',
        '    - toCIDR:',
        `        - 10.${(n >> 8) & 255}.${n & 255}.0/24`,
        '      toPorts:',
        '        - ports:',
        '            - port: "443"',
        '              protocol: TCP',
      ].join('\n'));
    }
    await writeFile(join(dir, `policies-${String(f).padStart(3, '0')}.yaml`), docs.join('\n---\n') + '\n');
  }
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await f();
  process.stdout.write(`${label.padEnd(50)} ${(performance.now() - t0).toFixed(0).padStart(7)} ms\n`);
  return v;
}

/** Generates the policies, builds and signs the bundle, publishes it to a directory store and over HTTP. */
async function buildAndPublish(work: string, storeDir: string): Promise<BundleDescriptor> {
  const policiesDir = join(work, 'policies');
  process.stdout.write(`store benchmark: ${POLICIES} policies\n`);
  await timed(`generate ${POLICIES} policies (${POLICIES / POLICIES_PER_FILE} files)`, () => generatePolicies(policiesDir));
  const key = parseSigningKey(generateSigningKeyPem().privatePem, 'bench key');
  const built = await timed('build + sign bundle (buildBundleFromDir)', () => buildBundleFromDir({
    policiesDir,
    keys: [key],
    serial: 1,
    createdAt: new Date(),
    source: { repository: 'bench', commit: 'bench' },
  }));
  process.stdout.write(`  bundle: ${built.bytes.byteLength} bytes, ${built.policies} policies, ${built.manifest.components.length} components\n`);
  // Signing alone, to tell it apart from the build: the signature covers the manifest, not the component bytes.
  await timed('  signing alone, repeated (ECDSA P-256)', async () => signManifest(built.manifest, [key]));
  const store = new FsBundleStore(storeDir);
  const published = await timed('publish to directory store', () => store.publish({ serial: 1, bytes: built.bytes }, { expectLatestSerial: 0 }));

  // The same bundle uploaded over HTTP (a fresh store behind an in-process server), for the upload path's cost.
  const token = 'bench-token';
  const server = await startStoreServer({ store: new FsBundleStore(join(work, 'upload-store')), readSerial: readBundleSerial, token }, '127.0.0.1', 0);
  try {
    const client = new HttpBundleStore(server.url, { token });
    const d = await timed('publish over HTTP (PUT to a store server)', () => client.publish({ serial: 1, bytes: built.bytes }));
    await timed('fetch over HTTP (GET by digest, bounded, hashed)', () => client.get(d.digest, { expectedSize: d.size }));
  } finally {
    await server.close();
  }
  return published;
}

/** 200 keep-alive clients polling `url` with If-None-Match until the time or request budget runs out. */
async function poll(url: string, etag: string): Promise<PollResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = started + PHASE_MS;
  const one = (): Promise<void> => new Promise((res) => {
    const t0 = performance.now();
    const req = request(url, { agent, headers: { 'If-None-Match': etag } }, (r) => {
      r.resume();
      r.on('end', () => {
        if (r.statusCode === 304) latencies.push(performance.now() - t0);
        else errors++;
        res();
      });
    });
    req.on('error', () => {
      errors++;
      res();
    });
    req.end();
  });
  const client = async (): Promise<void> => {
    while (performance.now() < deadline && issued < MAX_REQUESTS) {
      issued++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { requests: latencies.length, seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), errors };
}

/** Spawns a node process and resolves once it prints a line matching `ready` (returns the match). */
function spawnReady(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) res({ child, match: m });
    });
    child.once('exit', (code) => rej(new Error(`${args.join(' ')} exited with ${code}: ${err.trim()}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
  });
}

// The baseline: the least an HTTP server on this machine can do per poll.
const BASELINE_SERVER = `
  import { createServer } from 'node:http';
  const s = createServer((req, res) => { res.writeHead(304, { ETag: '"x"' }); res.end(); });
  s.keepAliveTimeout = 5000;
  s.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + s.address().port + '\\n'));
  process.on('SIGTERM', () => s.close(() => process.exit(0)));`;

/** Per-field medians of several phases (requests/s via requests over seconds). */
function medianResult(rs: PollResult[]): PollResult {
  const med = (f: (r: PollResult) => number): number => {
    const v = rs.map(f).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  return { requests: med((r) => r.requests / r.seconds), seconds: 1, p50Ms: med((r) => r.p50Ms), p99Ms: med((r) => r.p99Ms), errors: rs.reduce((n, r) => n + r.errors, 0) };
}

function line(name: string, r: PollResult): string {
  return `${name.padEnd(26)} ${(r.requests / r.seconds).toFixed(0).padStart(8)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.errors} errors)`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'palisade-bench-store-'));
  try {
    const storeDir = join(work, 'store');
    const published = await buildAndPublish(work, storeDir);

    process.stdout.write(`\npolling: ${CLIENTS} concurrent keep-alive clients, ${PHASE_MS / 1000} s (at most ${MAX_REQUESTS} requests) per phase, ` +
      `${ROUNDS} alternating rounds, medians\n`);
    const base = await spawnReady(['--input-type=module', '-e', BASELINE_SERVER], /listening (\d+)/);
    const serve = await spawnReady([join(ROOT, 'bin/palisade'), 'serve', '--store', storeDir, '--listen', '127.0.0.1:0'], /at (http:\/\/[^\s]+)/);
    const baselines: PollResult[] = [];
    const stores: PollResult[] = [];
    try {
      const url = `${serve.match[1]}/v1/bundles/latest`;
      const first = await fetch(url);
      const etag = first.headers.get('etag') ?? '';
      const d = (await first.json()) as { serial: number };
      if (d.serial !== published.serial) throw new Error(`serve answered serial ${d.serial}, published ${published.serial}`);
      for (let round = 0; round < ROUNDS; round++) {
        baselines.push(await poll(`http://127.0.0.1:${base.match[1]}/`, '"x"'));
        stores.push(await poll(url, etag));
      }
    } finally {
      await stop(base.child);
      await stop(serve.child);
    }
    const baseline = medianResult(baselines);
    const store = medianResult(stores);
    process.stdout.write(`${line('baseline (bare node:http)', baseline)}\n${line('palisade serve latest', store)}\n`);
    process.stdout.write(`ratio store/baseline: throughput ${(store.requests / store.seconds / (baseline.requests / baseline.seconds)).toFixed(2)}x, ` +
      `p50 ${(store.p50Ms / baseline.p50Ms).toFixed(2)}x, p99 ${(store.p99Ms / baseline.p99Ms).toFixed(2)}x\n`);
    process.stdout.write('(clients and servers share this machine\'s cores: a ratio near 1 means the clients, not the store, are the limit)\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
