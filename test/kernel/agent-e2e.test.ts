/**
 * The agent end to end on this kernel: test pods (netns + veth), `bin/palisade-agent run` as its own process, a
 * real store (`palisade serve` over a store directory). A good bundle is enforced and real TCP, UDP and ICMP pass or
 * fail exactly as the reference evaluator (what `palisade simulate` runs) predicts; a doctored-but-signed bundle fails
 * its self-test and is never activated; a failed health check during bake switches back automatically; with the
 * store down the agent keeps enforcing, says `store unreachable`, and catches up when it is back; SIGTERM leaves the
 * datapath enforcing; metrics are served, lint clean and are scraped by a real Prometheus. Nothing is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { publicKeyPem } from '../../pipeline/core/bundle/index.js';
import { createEvaluator, DnsCache } from '../../pipeline/core/evaluate/index.js';
import type { Flow } from '../../pipeline/core/flow/types.js';
import { FsBundleStore } from '../../pipeline/stores/index.js';
import { podLabels } from '../../node-agent/agent/inventory.js';
import { StateDir } from '../../node-agent/agent/state-dir.js';
import type { PodEndpoint } from '../../node-agent/discovery/index.js';
import { KEY, bundleOf, doctoredBundle, model } from '../node-agent/agent/fixtures.js';
import { freePort } from '../stores/helpers.js';
import { NOW, removeAgentPins, until } from './agent-env.js';
import { OBJECT_PATH, REPO, createPods, describeKernel, killServers, leftovers, peerRun, peerServe, sh, destroyPods, type PodNet, type Server } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-agent';
const POLICY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "5353", protocol: UDP}]}]
  - fromEndpoints: [{matchLabels: {app: web}}]
    icmps: [{fields: [{type: 8, family: IPv4}]}]
`;
const POLICY_9090 = POLICY.replace('{port: "8080", protocol: TCP}', '{port: "8080", protocol: TCP}, {port: "9090", protocol: TCP}');

describeKernel('palisade-agent end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pld-agent-e2e-'));
  const storeDir = join(dir, 'store');
  const stateDir = join(dir, 'state');
  const unhealthy = join(dir, 'unhealthy');
  const store = new FsBundleStore(storeDir);
  let net: PodNet | undefined;
  let agent: ChildProcess | undefined;
  let serve: ChildProcess | undefined;
  let servePort = 0;
  let agentLog = '';
  let metricsAddress = '';
  const servers: (Server | undefined)[] = [];
  const progsBefore = new Set<number>();

  const web = () => net!.pods[0]!;
  const api = () => net!.pods[1]!;
  const other = () => net!.pods[2]!;
  const pods = (): PodEndpoint[] => [
    { namespace: 'shop', name: 'web', labels: { app: 'web' }, namespaceLabels: {}, ips: [web().ipv4, web().ipv6], interface: web().hostIf },
    { namespace: 'shop', name: 'api', labels: { app: 'api' }, namespaceLabels: {}, ips: [api().ipv4, api().ipv6], interface: api().hostIf },
    { namespace: 'shop', name: 'other', labels: { app: 'other' }, namespaceLabels: {}, ips: [other().ipv4, other().ipv6], interface: other().hostIf },
  ];

  const startServe = async (): Promise<void> => {
    serve = spawn(process.execPath, [join(REPO, 'bin', 'palisade'), 'serve', '--store', storeDir, '--listen', `127.0.0.1:${servePort}`, '--poll-ms', '100'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`http://127.0.0.1:${servePort}/v1/bundles/latest`).catch(() => null)) !== null) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('palisade serve did not start');
  };
  const stopServe = async (): Promise<void> => {
    const s = serve;
    serve = undefined;
    if (!s || s.exitCode !== null) return;
    await new Promise((r) => { s.once('exit', r); s.kill('SIGTERM'); });
  };

  const status = async () => new StateDir(stateDir).read();

  /** What the reference evaluator (simulate's engine) says about a flow between two of the pods. */
  const predicted = (text: string, src: PodEndpoint, dst: PodEndpoint, protocol: Flow['protocol'], dstPort?: number, icmpType?: number): string => {
    const ep = (p: PodEndpoint) => ({ kind: 'pod' as const, ip: p.ips[0]!, labels: podLabels(p), namespace: p.namespace, podName: p.name });
    const flow: Flow = { index: 0, src: ep(src), dst: ep(dst), protocol, isReply: false, ...(dstPort !== undefined ? { srcPort: 40000, dstPort } : {}), ...(icmpType !== undefined ? { icmpType } : {}) };
    return createEvaluator(model(text)).judge(flow, new DnsCache()).verdict;
  };

  beforeAll(async () => {
    for (const p of JSON.parse(sh('bpftool', '-j', 'prog', 'list')) as { id: number }[]) progsBefore.add(p.id);
    net = createPods('ag', 41, ['web', 'api', 'other']);
    writeFileSync(join(dir, 'key.pub'), publicKeyPem(KEY.publicKey));
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ pods: pods() }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ health: { command: ['test', '!', '-e', unhealthy] }, bake: { intervalSeconds: 0.5 } }));
    servePort = await freePort();
    await startServe();
    servers.push(await peerServe(api().ns, 'serve-tcp', '8080', '8081', '9090'));
    servers.push(await peerServe(api().ns, 'serve-udp', '4', '5353'));
    await store.publish({ serial: 1, bytes: bundleOf(1, [KEY], POLICY, NOW) });
    agent = spawn(join(REPO, 'bin', 'palisade-agent'), [
      'run', '--store', `http://127.0.0.1:${servePort}`, '--trust', join(dir, 'key.pub'), '--endpoints', join(dir, 'endpoints.json'),
      '--state-dir', stateDir, '--pin-dir', PIN_DIR, '--object', OBJECT_PATH, '--bake', '2s', '--poll', '200ms',
      '--metrics', '127.0.0.1:0', '--config', join(dir, 'config.json'), '--node', 'pld-node',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr!.on('data', (d: Buffer) => {
      agentLog += d.toString();
      metricsAddress ||= /metrics on http:\/\/([^/]+)\/metrics/.exec(agentLog)?.[1] ?? '';
    });
    await until('serial 1 committed', async () => (await status()).enforced?.record.serial === 1, () => agentLog);
  }, 120_000);

  afterAll(async () => {
    killServers(servers);
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    await stopServe();
    // The agent leaves the datapath enforcing on purpose: remove it as an operator would.
    removeAgentPins(PIN_DIR);
    destroyPods(net);
    rmSync(dir, { recursive: true, force: true });
    expect(await leftovers({ programs: [], maps: [], pinDir: PIN_DIR, podTag: 'ag' })).toEqual([]);
    expect(existsSync(`${PIN_DIR}-probe`) || existsSync(`${PIN_DIR}-selftest`)).toBe(false);
    // Every program the agent loaded is gone with its filters and pins.
    let left: string[] = [];
    for (let i = 0; i < 30; i++) {
      left = (JSON.parse(sh('bpftool', '-j', 'prog', 'list')) as { id: number; name?: string }[])
        .filter((p) => !progsBefore.has(p.id) && (p.name ?? '').startsWith('palisade_'))
        .map((p) => `prog ${p.id} ${p.name}`);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
  }, 60_000);

  test('a good bundle: real TCP (IPv4, IPv6), UDP and ICMP pass or fail as the reference evaluator predicts', async () => {
    const [w, a, o] = pods() as [PodEndpoint, PodEndpoint, PodEndpoint];
    const tcp = async (from: typeof web, port: number) => ((await peerRun(from().ns, 'tcp-connect', api().ipv4, String(port), '1500')).result === 'ok' ? 'FORWARDED' : 'DROPPED');
    expect(await tcp(web, 8080)).toBe(predicted(POLICY, w, a, 'TCP', 8080));
    expect(predicted(POLICY, w, a, 'TCP', 8080)).toBe('FORWARDED');
    expect(await tcp(web, 8081)).toBe(predicted(POLICY, w, a, 'TCP', 8081));
    expect(predicted(POLICY, w, a, 'TCP', 8081)).toBe('DROPPED');
    expect(await tcp(other, 8080)).toBe(predicted(POLICY, o, a, 'TCP', 8080));
    expect(predicted(POLICY, o, a, 'TCP', 8080)).toBe('DROPPED');
    // IPv6: the same pods by their other address.
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv6, '8080', '1500')).result).toBe('ok');
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv6, '8081', '1500')).result).toBe('timeout');
    expect((await peerRun(other().ns, 'tcp-connect', api().ipv6, '8080', '1500')).result).toBe('timeout');
    const udp = (await peerRun(web().ns, 'udp-request', api().ipv4, '5353', '2000', '40123')).result === 'ok' ? 'FORWARDED' : 'DROPPED';
    expect(udp).toBe(predicted(POLICY, w, a, 'UDP', 5353));
    expect(udp).toBe('FORWARDED');
    const ping = async (from: typeof web) => ((await peerRun(from().ns, 'icmp-echo', api().ipv4, '2', '800')).received === 2 ? 'FORWARDED' : 'DROPPED');
    expect(await ping(web)).toBe(predicted(POLICY, w, a, 'ICMPv4', undefined, 8));
    expect(await ping(other)).toBe(predicted(POLICY, o, a, 'ICMPv4', undefined, 8));
    expect(predicted(POLICY, o, a, 'ICMPv4', undefined, 8)).toBe('DROPPED');

    const st = spawnSync(join(REPO, 'bin', 'palisade-agent'), ['status', '--state-dir', stateDir], { encoding: 'utf8' });
    expect(st.status).toBe(0);
    expect(st.stdout).toMatch(/^enforcing {7}serial 1 \(sha256:[0-9a-f]{64}\), commit 0123456789abcdef0123456789abcdef01234567 of https:\/\/example\.test\/policies\.git, since \S+, generation 1$/m);
    expect(st.stdout).toMatch(/^store {11}http:\/\/127\.0\.0\.1:\d+: up$/m);
    expect(st.stdout).toMatch(/^ {2}shop\/api \([0-9.]+\) {2}\d+ \/ 16384$/m);
  }, 60_000);

  test('observe: the verdict events as Hubble JSON lines, filtered; palisade simulate judges them the same', async () => {
    const agentBin = join(REPO, 'bin', 'palisade-agent');
    const all = spawnSync(agentBin, ['observe', '--state-dir', stateDir], { encoding: 'utf8' });
    expect(all.status).toBe(0);
    const lines = all.stdout.trim().split('\n');
    const flows = lines.map((l) => JSON.parse(l).flow);
    expect(flows.length).toBeGreaterThan(10);
    // Every TCP connection the traffic test tried is there, with its direction, drop reason and policy.
    const denied = flows.find((f) => f.verdict === 'DROPPED' && f.l4.TCP?.destination_port === 8081);
    expect(denied).toMatchObject({
      traffic_direction: 'INGRESS', drop_reason: 133, drop_reason_desc: 'POLICY_DENIED', node_name: 'pld-node',
      source: { namespace: 'shop', pod_name: 'web' }, destination: { namespace: 'shop', pod_name: 'api', labels: expect.arrayContaining(['k8s:app=api']) },
      IP: { source: web().ipv4, destination: api().ipv4, ipVersion: 'IPv4' },
    });
    const allowed = flows.find((f) => f.verdict === 'FORWARDED' && f.traffic_direction === 'INGRESS' && f.l4.TCP?.destination_port === 8080 && f.source.pod_name === 'web');
    expect(allowed.ingress_allowed_by).toEqual([{ kind: 'CiliumNetworkPolicy', name: 'api', namespace: 'shop', revision: 1 }]);

    const dropsAtApi = spawnSync(agentBin, ['observe', '--state-dir', stateDir, '--verdict', 'DROPPED', '--namespace', 'shop', '--pod', 'api'], { encoding: 'utf8' });
    const filtered = dropsAtApi.stdout.trim().split('\n').map((l) => JSON.parse(l).flow);
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((f) => f.verdict === 'DROPPED' && [f.source.pod_name, f.destination.pod_name].includes('api'))).toBe(true);
    expect(filtered.length).toBe(flows.filter((f) => f.verdict === 'DROPPED' && [f.source.pod_name, f.destination.pod_name].includes('api')).length);

    // Round trip: a drop is final, and an ingress pass is the last judgement, so simulate must agree on both.
    mkdirSync(join(dir, 'policies'), { recursive: true });
    writeFileSync(join(dir, 'policies', 'api.yaml'), POLICY);
    writeFileSync(join(dir, 'observed.json'), all.stdout);
    const sim = spawnSync(join(REPO, 'bin', 'palisade'), ['simulate', '--policies', join(dir, 'policies'), '--flows', join(dir, 'observed.json'), '--format', 'jsonl'], { encoding: 'utf8' });
    expect(sim.stderr).toBe('');
    expect(sim.status).toBe(0);
    const verdicts = sim.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(verdicts).toHaveLength(flows.length);
    let compared = 0;
    flows.forEach((f, i) => {
      const v = verdicts[i];
      if (f.verdict === 'DROPPED') {
        expect({ i, verdict: v.verdict, reason: v.drop_reason, at: v.dropped_at }).toEqual({ i, verdict: 'DROPPED', reason: f.drop_reason_desc, at: f.traffic_direction.toLowerCase() });
        compared++;
      } else if (f.traffic_direction === 'INGRESS' || f.is_reply) {
        expect({ i, verdict: v.verdict }).toEqual({ i, verdict: 'FORWARDED' });
        compared++;
      }
    });
    expect(compared).toBeGreaterThan(10);
  }, 60_000);

  test('metrics: the named series are served, lint clean, and count the drops seen', async () => {
    expect(metricsAddress).not.toBe('');
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    for (const name of ['palisade_drop_count_total', 'palisade_forward_count_total', 'palisade_policy_change_total', 'palisade_bpf_map_pressure', 'palisade_bundle_serial', 'palisade_apply_duration_seconds', 'palisade_rollbacks_total', 'palisade_store_up']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/^palisade_bundle_serial 1$/m);
    expect(text).toMatch(/^palisade_store_up 1$/m);
    expect(text).toMatch(/^palisade_policy_change_total\{outcome="committed"\} 1$/m);
    expect(text).toMatch(/^palisade_drop_count_total\{reason="POLICY_DENIED",direction="(ingress|egress)"\} [1-9]\d*$/m);
    const sums = [...text.matchAll(/^palisade_apply_duration_seconds_sum\{step="([a-z-]+)"\} ([0-9.e-]+)$/gm)].map((m) => `${m[1]} ${(Number(m[2]) * 1000).toFixed(1)} ms`);
    process.stdout.write(`[agent apply of serial 1, 3 pods] ${sums.join(', ')}\n`);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    expect((await fetch(`http://${metricsAddress}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${metricsAddress}/healthz`)).status).toBe(200);
  });

  test('metrics: a real Prometheus (Debian\'s) scrapes the agent and answers PromQL on its series', async () => {
    const port = await freePort();
    const promDir = join(dir, 'prometheus');
    mkdirSync(promDir, { recursive: true });
    writeFileSync(join(promDir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agent\n    static_configs:\n      - targets: ['${metricsAddress}']\n`);
    const prom = spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
      };
      let up: { value: [number, string] }[] = [];
      await until('Prometheus scraped the agent', async () => {
        up = await query('up{job="agent"}');
        return up.length === 1 && up[0]!.value[1] === '1';
      }, () => agentLog, 30_000);
      expect((await query('palisade_bundle_serial'))[0]?.value[1]).toBe('1');
      expect((await query('palisade_store_up'))[0]?.value[1]).toBe('1');
      const drops = await query('sum(palisade_drop_count_total{reason="POLICY_DENIED"})');
      expect(Number(drops[0]?.value[1])).toBeGreaterThan(0);
    } finally {
      const gone = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await gone;
    }
  }, 60_000);

  test('a doctored-but-signed bundle fails its self-test on this kernel and is never activated', async () => {
    const desc = await store.publish({ serial: 2, bytes: doctoredBundle(2, [KEY], NOW) });
    await until('the rejection', async () => (await status()).rejections.some((r) => r.bundleDigest === desc.digest), () => agentLog);
    const s = await status();
    expect(s.rejections.at(-1)).toMatchObject({ serial: 2, step: 'self-test', code: 'self-test-mismatch' });
    expect(s.rejections.at(-1)?.message).toMatch(/^signed probe \d+ /);
    expect(s.enforced?.record.serial).toBe(1);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('ok');
  }, 60_000);

  test('a failed health check during bake switches back to the last-known-good by itself', async () => {
    writeFileSync(unhealthy, '');
    await store.publish({ serial: 3, bytes: bundleOf(3, [KEY], POLICY_9090, NOW) });
    await until('the rollback', async () => (await status()).rollback?.fromSerial === 3, () => agentLog);
    rmSync(unhealthy);
    const s = await status();
    expect(s.rollback).toMatchObject({ fromSerial: 3, toSerial: 1, reason: 'bake-failed' });
    expect(s.enforced?.record.serial).toBe(1);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '9090', '1500')).result).toBe('timeout');
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('ok');
    expect(agentLog).toMatch(/warn rolled back from serial 3 to serial 1 \(generation \d\): bake-failed: health check failed: test exited with 1/);
  }, 60_000);

  test('store down: enforcement continues and status says store unreachable; back: the agent catches up', async () => {
    await stopServe();
    await until('store unreachable', async () => (await status()).status?.store.up === false, () => agentLog);
    expect((await status()).status?.store.lastError).toMatch(/^store unreachable: /);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('ok');
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(text).toMatch(/^palisade_store_up 0$/m);
    await store.publish({ serial: 4, bytes: bundleOf(4, [KEY], POLICY_9090, NOW) });
    await startServe();
    await until('serial 4 committed', async () => (await status()).enforced?.record.serial === 4, () => agentLog);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '9090', '1500')).result).toBe('ok');
  }, 90_000);

  test('endpoint churn: a relabelled pod changes what it may reach in place; a vanished interface does not stop the agent', async () => {
    const [w, a, o] = pods() as [PodEndpoint, PodEndpoint, PodEndpoint];
    expect((await peerRun(other().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('timeout');
    // other is relabelled app=web: api's ingress from web now covers it.
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ pods: [w, a, { ...o, labels: { app: 'web' } }] }));
    await until('the relabel applied', async () => /endpoints changed: (\d+ ipcache rows written|serial \d+ restaged)/.test(agentLog), () => agentLog, 20_000);
    expect((await peerRun(other().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('ok');
    // other's interface disappears, then the file changes again (a new pod on another node): the agent carries on.
    sh('ip', 'link', 'del', other().hostIf);
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ pods: [w, a, { ...o, labels: { app: 'web' } }, { namespace: 'shop', name: 'far', labels: { app: 'web' }, namespaceLabels: {}, ips: ['10.250.0.9'] }] }));
    await until('the vanished interface reported', async () => agentLog.includes(`cannot attach to ${other().hostIf}`), () => agentLog);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '8080', '1500')).result).toBe('ok');
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '8081', '1500')).result).toBe('timeout');
    await until('status with 4 pods', async () => (await status()).status?.endpoints.pods === 4, () => agentLog);
    expect(agent!.exitCode).toBeNull();
  }, 60_000);

  test('SIGTERM stops the agent and leaves the datapath enforcing', async () => {
    const exited = new Promise<number | null>((r) => agent!.once('exit', (code) => r(code)));
    agent!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(agentLog).toMatch(/info stopping: the datapath keeps enforcing\n$/);
    expect((await peerRun(web().ns, 'tcp-connect', api().ipv4, '9090', '1500')).result).toBe('ok');
  }, 30_000);
});
