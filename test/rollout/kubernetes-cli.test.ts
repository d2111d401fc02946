/**
 * `palisade rollout` on Kubernetes as an operator runs it, against the fake API server: two controller processes
 * (`--kubeconfig`, each with its own identity) of which only the Lease holder acts; SIGTERM hands over to the other,
 * which continues the same rollout; `status` and `pause`/`resume` through the API; and the RBAC manifests granting
 * exactly what the controller and the agent were seen to call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPem, parseSigningKey } from '../../pipeline/core/bundle/index.js';
import { nodeStatusRecord, nodeTargetRecord, parseNodeTarget, parseRolloutState } from '../../pipeline/rollout/index.js';
import { FsBundleStore } from '../../pipeline/stores/index.js';
import { KubernetesEndpointSource, nodeLabelsFromApi } from '../../node-agent/discovery/index.js';
import { main as agentMain } from '../../node-agent/agent/cli.js';
import { RolloutLink, statusFor } from '../../node-agent/agent/rollout-link.js';
import { bundle } from '../bundle/fixtures.js';
import { CLI } from '../stores/helpers.js';
import { kubeconfigAs, type FakeApiServer } from '../support/fake-kube-apiserver.js';
import { freshState } from '../node-agent/agent/fixtures.js';
import { kubeConfigAs, manifest, recordsAs, startApiWithCrds } from './kube-fixtures.js';
import { compareRbac, rulesOf } from './kube-rbac.js';

const work = mkdtempSync(join(tmpdir(), 'pld-kube-cli-'));
const store = join(work, 'store');
const children: ChildProcess[] = [];
let api: FakeApiServer;
beforeAll(async () => {
  api = await startApiWithCrds();
  for (const who of ['controller-a', 'controller-b', 'operator']) writeFileSync(join(work, `${who}.kubeconfig`), kubeconfigAs(api, who));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  expect(api.unexpected).toEqual([]);
  await api.close();
});

const pem = generateSigningKeyPem();
writeFileSync(join(work, 'k.key'), pem.privatePem, { mode: 0o600 });
writeFileSync(join(work, 'k.pub'), pem.publicPem);
const key = parseSigningKey(pem.privatePem, 'k');
const CONFIG = join(work, 'palisade.yaml');
writeFileSync(CONFIG, 'rollout:\n  waves:\n    - name: canary\n      nodeSelector: { matchLabels: { canary: "true" } }\n      bake: 1s\n    - name: everyone\n      percent: 100\n      bake: 2s\n  gates:\n    reportTimeout: 30s\n');
const NODES = ['node-a', 'node-b', 'node-c'];
const far = new Date(Date.now() + 20 * 86_400_000);
const publish = (serial: number): Promise<unknown> => new FsBundleStore(store).publish({ serial, bytes: bundle(serial, [key], { createdAt: new Date(), expiresAt: far }, String.fromCharCode(96 + serial)) });

/** Agents (simulated): each reports the bundle its PolicyNode's target names as active. */
async function agentsFollowTargets(): Promise<void> {
  const records = recordsAs(api, 'agents');
  for (const node of NODES) {
    const t = await records.getRecord(nodeTargetRecord(node));
    const target = t ? parseNodeTarget(t.value) : undefined;
    const prev = await records.getRecord(nodeStatusRecord(node));
    const status = { node, bundle: target?.bundle ?? null, phase: 'active', mode: target?.mode ?? 'enforce', reportedAt: Date.now(), drops: 0, labels: node === 'node-a' ? { canary: 'true' } : {} };
    await records.putRecord(nodeStatusRecord(node), status, prev?.version ?? null);
  }
}

async function until(what: string, cond: () => boolean, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await agentsFollowTargets();
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rollout = () => api.objects.get('policyrollouts/palisade/current') as { status?: { state?: unknown; conditions?: { type: string; status: string; reason: string }[] } } | undefined;
const state = () => parseRolloutState(rollout()?.status?.state);
const condition = (type: string) => rollout()?.status?.conditions?.find((c) => c.type === type);
const WRITES = new Set(['create', 'patch', 'update']);
/** Indexes of the calls `who` made to write rollout objects. */
const rolloutWrites = (who: string): number[] => api.calls.flatMap((c, i) => (c.who === who && c.resource.startsWith('palisade.dev/') && WRITES.has(c.verb) ? [i] : []));

function controller(who: 'a' | 'b'): { child: ChildProcess; err: () => string } {
  const args = [CLI, 'rollout', 'controller', '--store', store, '--trust', join(work, 'k.pub'), '--key', join(work, 'k.key'), '--config', CONFIG, '--interval', '200ms', '--kubeconfig', join(work, `controller-${who}.kubeconfig`), '--namespace', 'palisade', '--identity', who];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  return { child, err: () => err };
}

/** The CLI as an operator runs it (asynchronously: the fake API server answers from this process). */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'rollout', ...args, '--kubeconfig', join(work, 'operator.kubeconfig'), '--namespace', 'palisade', '--config', CONFIG], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

describe('palisade rollout --kubeconfig', () => {
  it('two controllers: only the Lease holder acts; SIGTERM hands the same rollout over to the other', async () => {
    await agentsFollowTargets();
    const a = controller('a');
    await until('a leads', () => a.err().includes('leading: a holds lease palisade/palisade-rollout-controller'));
    const b = controller('b');
    // b is up and campaigning (it read the Lease) before there is anything to do.
    await until('b campaigns', () => api.calls.some((c) => c.who === 'controller-b' && c.resource === 'coordination.k8s.io/leases'));
    await publish(1);
    await until('serial 1 completed', () => state()?.bundle.serial === 1 && state()?.phase === 'completed');
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(b.err()).not.toContain('leading: b');
    expect(rolloutWrites('controller-b')).toEqual([]);
    expect(rolloutWrites('controller-a').length).toBeGreaterThan(0);
    // b campaigned all along, and never won: it only read the Lease.
    expect(new Set(api.calls.filter((c) => c.who === 'controller-b').map((c) => `${c.verb} ${c.resource}`))).toEqual(new Set(['get coordination.k8s.io/leases']));

    // Serial 2: a starts it; stopped mid-way, it releases the Lease and b continues the same rollout.
    await publish(2);
    await until('serial 2 in its first wave', () => state()?.bundle.serial === 2 && Object.keys(state()!.reached).length === 1);
    const exited = new Promise<number | null>((r) => a.child.once('exit', r));
    a.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(a.err()).toContain('released lease palisade/palisade-rollout-controller');
    const lastOfA = Math.max(...rolloutWrites('controller-a'));
    await until('b leads', () => b.err().includes('leading: b holds lease'), 20_000);
    await until('serial 2 completed', () => state()?.bundle.serial === 2 && state()?.phase === 'completed');
    const ofB = rolloutWrites('controller-b');
    expect(ofB.length).toBeGreaterThan(0);
    expect(Math.min(...ofB)).toBeGreaterThan(lastOfA);
    // One rollout of serial 2, promoted wave by wave once each, across the hand-over.
    expect(state()?.promoted).toEqual([0, 1]);
    expect((api.objects.get('leases/palisade/palisade-rollout-controller')?.spec as { holderIdentity: string }).holderIdentity).toBe('b');

    // The operator: status through the API, pause and resume of serial 3.
    const json = await cli('status', '--format', 'json');
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const shown = JSON.parse(json.stdout) as { rollout: { phase: string; bundle: { serial: number } }; nodes: { node: string }[] };
    expect(shown.rollout).toMatchObject({ phase: 'completed', bundle: { serial: 2 } });
    expect(shown.nodes.map((n) => n.node)).toEqual(NODES);
    const table = await cli('status');
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('rollout of serial 2');
    await publish(3);
    await until('serial 3 started', () => state()?.bundle.serial === 3);
    const paused = await cli('pause', '--reason', 'change freeze');
    expect(paused.status).toBe(0);
    expect(condition('Progressing')).toMatchObject({ status: 'Unknown', reason: 'Paused' });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(state()?.phase).toBe('paused');
    expect((await cli('resume')).status).toBe(0);
    await until('serial 3 completed', () => state()?.phase === 'completed' && state()?.bundle.serial === 3);
    expect((await cli('resume')).status).toBe(1);

    const stopped = new Promise<number | null>((r) => b.child.once('exit', r));
    b.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
  }, 120_000);

  it('the controller RBAC grants exactly what the controllers called', () => {
    const calls = api.calls.filter((c) => c.who === 'controller-a' || c.who === 'controller-b');
    expect(compareRbac(rulesOf(manifest('pipeline/rollout/kubernetes/deploy/controller.yaml'), 'palisade-rollout-controller'), calls)).toEqual({ denied: [], unused: [] });
  });

  it("the agent RBAC grants exactly what the agent's Kubernetes clients call", async () => {
    // What `palisade-agent run --rollout --kubeconfig F --node N` runs against the API: the node's labels, the
    // endpoint informers, and its rollout link (a first report creates the PolicyNode, then reads and reports).
    api.put('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-z', labels: { canary: 'true' } } });
    const kc = kubeConfigAs(api, 'agent');
    const labels = await nodeLabelsFromApi(kc, 'node-z');
    expect(labels).toEqual({ canary: 'true' });
    const source = new KubernetesEndpointSource({ kubeConfig: kc, nodeName: 'node-z', hostInterfaceOf: async () => undefined });
    const stop = new AbortController();
    const changes = (async () => {
      for await (const _ of source.changes(stop.signal, () => undefined)) break;
    })();
    await source.read();
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: {} } });
    await changes;
    stop.abort();
    source.close();
    const link = new RolloutLink(recordsAs(api, 'agent'), 'node-z', labels);
    await link.report(statusFor(freshState(), await link.target(), 0, Date.now()));
    await link.report(statusFor(freshState(), await link.target(), 0, Date.now()));
    expect(api.objects.get('policynodes/palisade/node-z')).toMatchObject({ status: { node: 'node-z', labels: { canary: 'true' } } });
    const calls = api.calls.filter((c) => c.who === 'agent');
    const rules = [...rulesOf(manifest('node-agent/deploy/agent.yaml'), 'palisade-agent')];
    expect(compareRbac(rules, calls)).toEqual({ denied: [], unused: [] });
  }, 30_000);
});

describe('usage of the Kubernetes flags', () => {
  const agent = async (...args: string[]): Promise<{ code: number; err: string }> => {
    const err = new PassThrough();
    let text = '';
    err.on('data', (d: Buffer) => (text += d.toString()));
    const code = await agentMain(['run', '--store', store, '--trust', join(work, 'k.pub'), ...args], 'test', new PassThrough(), err);
    return { code, err: text };
  };

  it('palisade-agent run: --namespace only with --rollout --kubeconfig; an unreadable kubeconfig is a usage error', async () => {
    expect(await agent('--endpoints', join(work, 'none.yaml'), '--namespace', 'x')).toEqual({ code: 2, err: 'palisade-agent run: --namespace goes with --rollout --kubeconfig\n' });
    const missing = await agent('--rollout', '--kubeconfig', join(work, 'missing.kubeconfig'), '--node', 'n1');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`palisade-agent run: --kubeconfig: kubeconfig ${join(work, 'missing.kubeconfig')}:`);
    expect(await agent('--endpoints', join(work, 'none.yaml'), '--kubeconfig', join(work, 'operator.kubeconfig'))).toEqual({ code: 2, err: 'palisade-agent run: give one of --endpoints FILE or --kubeconfig FILE\n' });
  });

  it('palisade rollout: --store or --kubeconfig; --namespace only with --kubeconfig; the controller needs --store', async () => {
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'rollout', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('close', (status) => resolve({ status, stderr }));
      });
    const none = await run('status');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('give --store URL or --kubeconfig FILE');
    const ns = await run('status', '--store', store, '--namespace', 'x');
    expect(ns.status).toBe(2);
    expect(ns.stderr).toContain('--namespace and --identity go with --kubeconfig');
    const noStore = await run('controller', '--kubeconfig', join(work, 'operator.kubeconfig'), '--trust', join(work, 'k.pub'), '--key', join(work, 'k.key'));
    expect(noStore.status).toBe(2);
    expect(noStore.stderr).toContain('--store is required (the bundles)');
    const bad = await run('status', '--kubeconfig', join(work, 'missing.kubeconfig'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--kubeconfig: kubeconfig');
  });
});
