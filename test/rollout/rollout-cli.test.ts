/**
 * `palisade rollout` as a user runs it: the controller as its own process over a directory store, agents (simulated
 * here, through their status and target records) following it, `status` as a table and JSON, the operator's
 * commands and their exit codes, a bad --config at its file:line:col, and a clean stop on SIGTERM; and over an
 * OCI registry (the real docker-registry), where a second controller process stands down.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPem, parseSigningKey } from '../../pipeline/core/bundle/index.js';
import { nodeStatusRecord, nodeTargetRecord, parseNodeTarget, parseRolloutState, ROLLOUT_RECORD } from '../../pipeline/rollout/index.js';
import { FsBundleStore, FsRecordStore, OciBundleStore, OciRecordStore, type RecordStore } from '../../pipeline/stores/index.js';
import { bundle } from '../bundle/fixtures.js';
import { CLI, useRegistry } from '../stores/helpers.js';

const work = mkdtempSync(join(tmpdir(), 'pld-rollout-cli-'));
const store = join(work, 'store');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const pem = generateSigningKeyPem();
writeFileSync(join(work, 'k.key'), pem.privatePem, { mode: 0o600 });
writeFileSync(join(work, 'k.pub'), pem.publicPem);
const key = parseSigningKey(pem.privatePem, 'k');
writeFileSync(
  join(work, 'palisade.yaml'),
  'rollout:\n  waves:\n    - name: canary\n      nodeSelector: { matchLabels: { canary: "true" } }\n      bake: 1s\n    - name: everyone\n      percent: 100\n      bake: 1s\n  gates:\n    reportTimeout: 30s\n',
);
const NODES = ['node-a', 'node-b', 'node-c'];
const fsRecords = new FsRecordStore(store);
const records = fsRecords;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, 'rollout', ...args], { encoding: 'utf8' });
}

/** Agents: each reports the bundle its target names as active (one round after seeing it). */
async function agentsFollowTargets(records: RecordStore = fsRecords): Promise<void> {
  for (const node of NODES) {
    const t = await records.getRecord(nodeTargetRecord(node));
    const target = t ? parseNodeTarget(t.value) : undefined;
    const prev = await records.getRecord(nodeStatusRecord(node));
    const status = { bundle: target?.bundle ?? null, phase: 'active', mode: target?.mode ?? 'enforce', reportedAt: Date.now(), drops: 0, labels: node === 'node-a' ? { canary: 'true' } : {} };
    await records.putRecord(nodeStatusRecord(node), status, prev?.version ?? null);
  }
}

async function until(what: string, cond: () => Promise<boolean>, ms = 40_000, agentRecords: RecordStore = fsRecords): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await agentsFollowTargets(agentRecords);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const phase = async (): Promise<string | undefined> => {
  const rec = await records.getRecord(ROLLOUT_RECORD);
  return rec ? parseRolloutState(rec.value)?.phase : undefined;
};

describe('palisade rollout', () => {
  it('the controller rolls a bundle out wave by wave; status shows it; operators pause, resume and abort', async () => {
    await agentsFollowTargets();
    const controller = spawn(process.execPath, [CLI, 'rollout', 'controller', '--store', store, '--trust', join(work, 'k.pub'), '--key', join(work, 'k.key'), '--config', join(work, 'palisade.yaml'), '--interval', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(controller);
    let err = '';
    controller.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    controller.stdout!.resume();
    const bundles = new FsBundleStore(store);
    const far = new Date(Date.now() + 20 * 86_400_000);
    await bundles.publish({ serial: 1, bytes: bundle(1, [key], { createdAt: new Date(), expiresAt: far }, 'a') });
    await until('serial 1 completed', async () => (await phase()) === 'completed');
    expect(err).toContain('rollout 1: wave 0 started on node-a');
    expect(err).toContain('rollout 1: completed');

    const table = cli('status', '--store', store, '--config', join(work, 'palisade.yaml'));
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^rollout of serial 1 \(sha256:[0-9a-f]{12}…\): COMPLETED; no stable bundle yet$/m);
    expect(table.stdout).toMatch(/^ {2}0 {2}canary +labels canary=true +bake 1s +enforce promoted — node-a$/m);
    expect(table.stdout).toMatch(/^ {2}node-b +1 +1 +1 +active +enforce +0 +- +\d+s ago$/m);
    const json = JSON.parse(cli('status', '--store', store, '--format', 'json').stdout) as { rollout: { phase: string; promoted: number[] }; targets: Record<string, { bundle: { serial: number } }> };
    expect(json.rollout).toMatchObject({ phase: 'completed', promoted: [0, 1] });
    expect(Object.values(json.targets).map((t) => t.bundle.serial)).toEqual([1, 1, 1]);

    // A completed rollout cannot be resumed: exit 1 with the code.
    const wrong = cli('resume', '--store', store);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^palisade rollout resume: cannot resume a rollout that is completed \(serial 1\) \[rollout-wrong-phase\]$/m);

    await bundles.publish({ serial: 2, bytes: bundle(2, [key], { createdAt: new Date(), expiresAt: far }, 'b') });
    await until('serial 2 started', async () => (await records.getRecord(ROLLOUT_RECORD))?.value !== undefined && parseRolloutState((await records.getRecord(ROLLOUT_RECORD))!.value)?.bundle.serial === 2);
    const paused = cli('pause', '--store', store, '--reason', 'change freeze');
    expect(paused.status).toBe(0);
    expect(paused.stdout).toBe('rollout 2: paused: change freeze\n');
    expect(await phase()).toBe('paused');
    expect(cli('abort', '--store', store, '--reason', 'wrong change').status).toBe(0);
    await until('the rollback bundle for the canary', async () => {
      const s = parseRolloutState((await records.getRecord(ROLLOUT_RECORD))!.value);
      const t = await records.getRecord(nodeTargetRecord('node-a'));
      return s?.rollbackBundle !== null && s?.rollbackBundle !== undefined && parseNodeTarget(t!.value)?.bundle?.digest === s.rollbackBundle.digest;
    });
    const after = cli('status', '--store', store);
    expect(after.stdout).toMatch(/^reason: wrong change$/m);
    expect(after.stdout).toMatch(/^blast radius: 1 node\(s\) \(node-a\), exposed \d+(\.\d)?s, 0 drop\(s\)$/m);
    expect(after.stdout).toMatch(/^rollback bundle: serial 1 \(sha256:[0-9a-f]{12}…\), reverting 2$/m);

    const stopped = new Promise<number | null>((r) => controller.once('exit', r));
    controller.kill('SIGTERM');
    expect(await stopped).toBe(0);
    expect(err).toContain('palisade rollout: controller stopped');
  }, 90_000);

  it('a bad --config is reported at its file:line:col with exit 2; usage errors exit 2', () => {
    writeFileSync(join(work, 'bad.yaml'), 'rollout:\n  waves:\n    - percent: 150\n');
    const r = cli('status', '--store', store, '--config', join(work, 'bad.yaml'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(work, 'bad.yaml')}:3:16: error: rollout.waves[0].percent must be above 0 and at most 100 [rollout-spec-invalid]`);
    expect(cli('frobnicate', '--store', store).status).toBe(2);
    expect(cli('status').status).toBe(2);
    const noKey = cli('controller', '--store', store, '--trust', join(work, 'k.pub'));
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('needs --key');
  });
});

describe('palisade rollout over an OCI registry', () => {
  const registry = useRegistry();

  it('the controller rolls a bundle out through registry records, warns that one controller must run, and a second one stands down', async () => {
    const url = `oci://${registry().host}/palisade/cli`;
    const ociRecords = new OciRecordStore(`http://${registry().host}`, 'palisade/cli', { writer: 'test-agents' });
    await agentsFollowTargets(ociRecords);
    const start = (): { child: ChildProcess; err: () => string } => {
      const child = spawn(process.execPath, [CLI, 'rollout', 'controller', '--store', url, '--trust', join(work, 'k.pub'), '--key', join(work, 'k.key'), '--config', join(work, 'palisade.yaml'), '--interval', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.resume();
      return { child, err: () => err };
    };
    const first = start();
    const far = new Date(Date.now() + 20 * 86_400_000);
    await new OciBundleStore(`http://${registry().host}`, 'palisade/cli').publish({ serial: 1, bytes: bundle(1, [key], { createdAt: new Date(), expiresAt: far }, 'oci') });
    const ociPhase = async (): Promise<string | undefined> => {
      const rec = await ociRecords.getRecord(ROLLOUT_RECORD);
      return rec ? parseRolloutState(rec.value)?.phase : undefined;
    };
    // The controller's log arrives through a pipe, maybe after the record it wrote: wait for both.
    await until('serial 1 completed over the registry', async () => (await ociPhase()) === 'completed' && first.err().includes('rollout 1: completed'), 60_000, ociRecords);
    expect(first.err()).toMatch(/warning: oci:\/\/127\.0\.0\.1:\d+\/palisade\/cli cannot arbitrate between writers .* run exactly one controller/);
    expect(first.err()).toContain('rollout 1: completed');
    const json = JSON.parse(cli('status', '--store', url, '--format', 'json').stdout) as { rollout: { phase: string }; targets: Record<string, { bundle: { serial: number } }> };
    expect(json.rollout.phase).toBe('completed');
    expect(Object.keys(json.targets)).toEqual(NODES);

    const second = start();
    await until('the second controller to stand down', async () => /another controller \([^)]+:\d+\) is beating/.test(second.err()), 30_000, ociRecords);
    for (const c of [first, second]) {
      const stopped = new Promise<number | null>((r) => c.child.once('exit', r));
      c.child.kill('SIGTERM');
      expect(await stopped).toBe(0);
    }
  }, 120_000);
});
