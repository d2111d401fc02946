/**
 * Automatic rollout end to end on this kernel: one store directory, `palisade rollout controller` and three
 * `palisade-agent run --rollout` processes, each "node" with its own pods (netns + veth) and real traffic. Each
 * agent's bake health check is a real request: web must reach api on 8080. A good bundle goes out wave by wave (the
 * canary first); a bundle that closes 8080 fails that check on the canary, whose agent switches back by itself; the
 * controller aborts, the canary is sent a signed rollback bundle, the other nodes never get the bad one, and traffic
 * keeps flowing; the fix then reaches every node. Then, with the controller restarted on a spec whose canary wave
 * audits first: the same bad change runs on the canary in audit, traffic keeps flowing (its would-be drops are
 * forwarded and reported AUDIT), and the drop gate aborts the rollout on those would-be drops before anything was
 * dropped; a good change then audits on the canary and the next step enforces it there (switched in place) and
 * everywhere. Nothing is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { publicKeyPem } from '../../pipeline/core/bundle/index.js';
import { nodeStatusRecord } from '../../pipeline/core/rollout/index.js';
import { parseRolloutState, ROLLOUT_RECORD, type RolloutState } from '../../pipeline/rollout/index.js';
import { FsBundleStore, FsRecordStore } from '../../pipeline/stores/index.js';
import { StateDir } from '../../node-agent/agent/state-dir.js';
import type { PodEndpoint } from '../../node-agent/discovery/index.js';
import { KEY, POLICY, bundleOf } from '../node-agent/agent/fixtures.js';
import { exitOf, NOW, removeAgentPins, until } from './agent-env.js';
import { OBJECT_PATH, REPO, createPods, describeKernel, destroyPods, killServers, leftovers, peerRun, peerServe, type PodNet, type Server } from './kernel-env.js';

const NODES = [
  { name: 'node-a', tag: 'ra', subnet: 61, labels: ['role=canary'] },
  { name: 'node-b', tag: 'rb', subnet: 62, labels: [] },
  { name: 'node-c', tag: 'rc', subnet: 63, labels: [] },
] as const;
const pinDir = (tag: string): string => `/sys/fs/bpf/pld-${tag}`;

describeKernel('automatic rollout: controller and three agents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pld-rollout-e2e-'));
  const storeDir = join(dir, 'store');
  const store = new FsBundleStore(storeDir);
  const records = new FsRecordStore(storeDir);
  const nets: PodNet[] = [];
  const agents: ChildProcess[] = [];
  const servers: (Server | undefined)[] = [];
  let controller: ChildProcess | undefined;
  let log = '';
  /** The bad change: api accepts 8081 instead of 8080 (what the health check needs). */
  const CLOSES_8080 = POLICY.replace('{port: "8080", protocol: TCP}]}]\n---', '{port: "8081", protocol: TCP}]}]\n---');
  /** The fix: 8080 as before, and 9090 newly open both ways (web's egress and api's ingress). */
  const OPENS_9090 = POLICY.replaceAll('toPorts: [{ports: [{port: "8080", protocol: TCP}]}]', 'toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "9090", protocol: TCP}]}]');

  const startController = (config: string): void => {
    controller = spawn(join(REPO, 'bin', 'palisade'), ['rollout', 'controller', '--store', storeDir, '--trust', join(dir, 'key.pub'), '--key', join(dir, 'key.key'), '--config', join(dir, config), '--interval', '300ms'], { stdio: ['ignore', 'ignore', 'pipe'] });
    controller.stderr!.on('data', (d: Buffer) => (log += `[controller] ${d.toString()}`));
  };
  const state = async (): Promise<RolloutState | undefined> => {
    const rec = await records.getRecord(ROLLOUT_RECORD);
    return rec ? parseRolloutState(rec.value) : undefined;
  };
  const enforced = async (i: number): Promise<number | undefined> => (await new StateDir(join(dir, `state-${i}`)).read()).enforced?.record.serial;
  const web = (i: number) => nets[i]!.pods[0]!;
  const api = (i: number) => nets[i]!.pods[1]!;
  const tcp = async (i: number, port: number): Promise<string> => ((await peerRun(web(i).ns, 'tcp-connect', api(i).ipv4, String(port), '1500')).result === 'ok' ? 'ok' : 'blocked');

  beforeAll(async () => {
    NODES.forEach((n) => nets.push(createPods(n.tag, n.subnet, ['web', 'api'])));
    // Every pod of the cluster is in every agent's ipcache; only a node's own pods have an interface there.
    const all = (local: number): PodEndpoint[] =>
      nets.flatMap((net, i) => [
        { namespace: 'shop', name: `web-${i}`, labels: { app: 'web' }, namespaceLabels: {}, ips: [net.pods[0]!.ipv4], ...(i === local ? { interface: net.pods[0]!.hostIf } : {}) },
        { namespace: 'shop', name: `api-${i}`, labels: { app: 'api' }, namespaceLabels: {}, ips: [net.pods[1]!.ipv4], ...(i === local ? { interface: net.pods[1]!.hostIf } : {}) },
      ]);
    writeFileSync(join(dir, 'key.pub'), publicKeyPem(KEY.publicKey));
    writeFileSync(join(dir, 'key.key'), KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    writeFileSync(join(dir, 'palisade.yaml'), 'rollout:\n  waves:\n    - name: canary\n      nodeSelector: {matchLabels: {role: canary}}\n      bake: 2s\n    - name: everyone\n      percent: 100\n      bake: 1s\n  gates:\n    reportTimeout: 60s\n');
    for (let i = 0; i < NODES.length; i++) {
      servers.push(await peerServe(api(i).ns, 'serve-tcp', '8080', '8081', '9090'));
      writeFileSync(join(dir, `endpoints-${i}.json`), JSON.stringify({ pods: all(i) }));
      // Health: a real TCP connection from this node's web pod to its api pod on 8080.
      // 4 s: room for one SYN retransmission (1 s). The first connection after a node's first activation sometimes
      // needs it on a loaded machine (seen, not yet explained); a closed port never answers at all.
      const health = ['timeout', '4', 'ip', 'netns', 'exec', web(i).ns, 'bash', '-c', `exec 3<>/dev/tcp/${api(i).ipv4}/8080`];
      writeFileSync(join(dir, `config-${i}.json`), JSON.stringify({ health: { command: health }, bake: { intervalSeconds: 0.25 } }));
    }
    startController('palisade.yaml');
    NODES.forEach((n, i) => {
      const agent = spawn(join(REPO, 'bin', 'palisade-agent'), [
        'run', '--store', storeDir, '--trust', join(dir, 'key.pub'), '--endpoints', join(dir, `endpoints-${i}.json`), '--state-dir', join(dir, `state-${i}`),
        '--pin-dir', pinDir(n.tag), '--object', OBJECT_PATH, '--bake', '1s', '--poll', '300ms', '--node', n.name, '--rollout',
        ...n.labels.flatMap((l) => ['--node-label', l]), '--config', join(dir, `config-${i}.json`),
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      agent.stderr!.on('data', (d: Buffer) => (log += `[${n.name}] ${d.toString()}`));
      agents.push(agent);
    });
  }, 120_000);

  afterAll(async () => {
    killServers(servers);
    for (const p of [...agents, controller]) if (p && p.exitCode === null) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    NODES.forEach((n) => removeAgentPins(pinDir(n.tag)));
    nets.forEach((net) => destroyPods(net));
    rmSync(dir, { recursive: true, force: true });
    for (const n of NODES) expect(await leftovers({ programs: [], maps: [], pinDir: pinDir(n.tag), podTag: n.tag })).toEqual([]);
  }, 60_000);

  test('a good bundle goes out wave by wave and enforces on every node as predicted', async () => {
    // The fleet is the agents that report: publishing before all three have would roll out to fewer nodes.
    await until('all three agents report', async () => (await Promise.all(NODES.map((n) => records.getRecord(nodeStatusRecord(n.name))))).every((r) => r !== undefined), () => log);
    await store.publish({ serial: 1, bytes: bundleOf(1, [KEY], POLICY, NOW) });
    await until('serial 1 completed', async () => (await state())?.phase === 'completed', () => log);
    expect(await Promise.all([0, 1, 2].map(enforced))).toEqual([1, 1, 1]);
    // The canary first: the others were activated only after the canary was active and had baked (2 s), judged
    // from the activation times the agents recorded (a poll of the state directories races the promotion on a
    // loaded machine).
    const since = async (i: number) => Date.parse((await new StateDir(join(dir, `state-${i}`)).read()).enforced!.record.since);
    for (const i of [1, 2]) expect((await since(i)) - (await since(0))).toBeGreaterThanOrEqual(2000);
    expect((await state())?.promoted).toEqual([0, 1]);
    for (const i of [0, 1, 2]) expect([await tcp(i, 8080), await tcp(i, 8081)]).toEqual(['ok', 'blocked']);
  }, 120_000);

  test('a bundle whose bake fails on the canary: the agent switches back, the rollout aborts, the canary gets a rollback bundle, the others never see it', async () => {
    await store.publish({ serial: 2, bytes: bundleOf(2, [KEY], CLOSES_8080, NOW) });
    await until('the rollout aborts', async () => (await state())?.phase === 'aborted', () => log);
    const s = (await state())!;
    expect(s.reason).toMatch(/^node node-a rolled back bundle serial 2: .* \[bake-failed\]$/);
    expect(s.blastRadius?.nodes).toEqual(['node-a']);
    // Traffic kept flowing on the canary: it is back on serial 1's policy (8080 open, 8081 closed).
    expect([await tcp(0, 8080), await tcp(0, 8081)]).toEqual(['ok', 'blocked']);
    await until('the canary runs the rollback bundle', async () => {
      const rollback = (await state())?.rollbackBundle;
      return rollback !== null && rollback !== undefined && rollback.digest === (await new StateDir(join(dir, 'state-0')).read()).enforced?.record.bundleDigest;
    }, () => log);
    expect(await enforced(0)).toBe(1);
    for (const i of [1, 2]) {
      const st = await new StateDir(join(dir, `state-${i}`)).read();
      expect(st.enforced?.record.serial).toBe(1);
      expect(st.rejections).toEqual([]);
      expect([await tcp(i, 8080), await tcp(i, 8081)]).toEqual(['ok', 'blocked']);
    }
    expect(log).not.toMatch(/\[node-(b|c)\][^\n]*serial 2/);
  }, 120_000);

  test('the fix reaches every node', async () => {
    await store.publish({ serial: 3, bytes: bundleOf(3, [KEY], OPENS_9090, NOW) });
    await until('serial 3 completed', async () => (await state())?.phase === 'completed' && (await state())?.bundle.serial === 3, () => log);
    expect(await Promise.all([0, 1, 2].map(enforced))).toEqual([3, 3, 3]);
    for (const i of [0, 1, 2]) expect([await tcp(i, 8080), await tcp(i, 9090), await tcp(i, 8081)]).toEqual(['ok', 'ok', 'blocked']);
  }, 120_000);

  test('audit first: the bad change runs on the canary in audit, traffic keeps flowing, and its would-be drops abort the rollout', async () => {
    // The same controller state, a spec whose canary audits and whose drop gate allows 3 drops per node.
    controller!.kill('SIGTERM');
    await exitOf(controller!);
    writeFileSync(join(dir, 'palisade-audit.yaml'), 'rollout:\n  waves:\n    - name: canary\n      nodeSelector: {matchLabels: {role: canary}}\n      bake: 3s\n      mode: audit\n    - name: everyone\n      percent: 100\n      bake: 1s\n  gates:\n    reportTimeout: 60s\n    maxDrops: {absolute: 3}\n');
    startController('palisade-audit.yaml');
    await store.publish({ serial: 4, bytes: bundleOf(4, [KEY], CLOSES_8080, NOW) });
    await until('the canary runs serial 4 in audit', async () => {
      const rec = (await new StateDir(join(dir, 'state-0')).read()).enforced?.record;
      return rec?.serial === 4 && rec.audit?.kind === 'all';
    }, () => log);
    // Serial 4 would drop 8080 at api: in audit it is forwarded (and before and after it, serial 3 allows it).
    expect(await tcp(0, 8080)).toBe('ok');
    await until('the rollout of serial 4 aborts', async () => (await state())?.bundle.serial === 4 && (await state())?.phase === 'aborted', () => log);
    const s = (await state())!;
    expect(s.reason).toMatch(/^node node-a would have dropped \d+ packets under bundle serial 4 in audit, above the bound of 3/);
    expect(s.blastRadius?.nodes).toEqual(['node-a']);
    // The agent never rejected or rolled back anything itself: its audit bake passed; the gate judged the would-be drops.
    expect((await new StateDir(join(dir, 'state-0')).read()).rejections.map((r) => r.serial)).toEqual([2]);
    // What was judged AUDIT on real traffic, as `palisade-agent observe` shows it: connections to api on 8080.
    const audited = spawnSync(join(REPO, 'bin', 'palisade-agent'), ['observe', '--state-dir', join(dir, 'state-0'), '--verdict', 'AUDIT'], { encoding: 'utf8' });
    const flows = audited.stdout.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { flow: { verdict: string; drop_reason_desc?: string; l4?: { TCP?: { destination_port: number } } } }).flow);
    expect(flows.length).toBeGreaterThan(3);
    expect(flows.every((f) => f.verdict === 'AUDIT' && f.drop_reason_desc === 'POLICY_DENIED' && f.l4?.TCP?.destination_port === 8080)).toBe(true);
    await until('the canary runs the rollback of serial 4, enforcing', async () => {
      const rollback = (await state())?.rollbackBundle;
      const rec = (await new StateDir(join(dir, 'state-0')).read()).enforced?.record;
      return rollback !== null && rollback !== undefined && rollback.digest === rec?.bundleDigest && rec.audit === undefined;
    }, () => log);
    expect([await tcp(0, 8080), await tcp(0, 9090), await tcp(0, 8081)]).toEqual(['ok', 'ok', 'blocked']);
    expect(await Promise.all([1, 2].map(enforced))).toEqual([3, 3]);
    expect(log).not.toMatch(/\[node-(b|c)\][^\n]*serial 4/);
  }, 120_000);

  test('audit first, then enforce: a good change audits on the canary, then the next step enforces it there and everywhere', async () => {
    await store.publish({ serial: 5, bytes: bundleOf(5, [KEY], OPENS_9090, NOW) });
    await until('the canary runs serial 5 in audit', async () => (await new StateDir(join(dir, 'state-0')).read()).enforced?.record.audit !== undefined, () => log);
    await until('serial 5 completed', async () => (await state())?.bundle.serial === 5 && (await state())?.phase === 'completed', () => log);
    // The canary switched the same bundle to enforce in place (no restage), after a self-test and a bake.
    await until('the canary enforces serial 5', async () => (await new StateDir(join(dir, 'state-0')).read()).enforced?.record.audit === undefined, () => log);
    expect(log).toMatch(/\[node-a\][^\n]*serial 5 in generation \d switched to enforce/);
    expect(await Promise.all([0, 1, 2].map(enforced))).toEqual([5, 5, 5]);
    for (const i of [0, 1, 2]) expect([await tcp(i, 8080), await tcp(i, 9090), await tcp(i, 8081)]).toEqual(['ok', 'ok', 'blocked']);
  }, 120_000);
});
