/**
 * The agent's side of automatic rollout: the status it reports for its target, derived from its own state, and
 * reading the target / writing the status through a real records store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeStatusRecord, nodeTargetRecord, parseNodeStatus } from '../../../pipeline/core/rollout/index.js';
import { FsRecordStore } from '../../../pipeline/stores/index.js';
import { predictedDropsFor, RolloutLink, statusFor, type NodeTargetView } from '../../../node-agent/agent/rollout-link.js';
import type { AgentState, EnforcedRecord, RejectionRecord } from '../../../node-agent/agent/types.js';
import { freshState } from './fixtures.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const enforcedA: EnforcedRecord = { serial: 4, rollbackOf: null, manifestDigest: A, bundleDigest: A, repository: 'r', commit: 'c', generation: 0, since: '2026-12-01T00:00:00Z' };
const targetB: NodeTargetView = { descriptor: { serial: 5, digest: B, size: 100 }, audit: undefined };
const auditB: NodeTargetView = { ...targetB, audit: { kind: 'all' } };
const rejection = (code: string): RejectionRecord => ({ bundleDigest: B, serial: 5, step: code === 'bake-failed' ? 'bake' : 'self-test', code, message: 'why', at: '2026-12-01T00:00:00Z' });
const withState = (extra: Partial<AgentState>): AgentState => ({ ...freshState(), enforced: enforcedA, ...extra });

describe('statusFor', () => {
  it('no target: the enforced bundle, active', () => {
    expect(statusFor(withState({}), undefined, 3, 10)).toEqual({ bundle: { serial: 4, digest: A }, phase: 'active', mode: 'enforce', reportedAt: 10, drops: 3 });
  });
  it('a target not yet enforced: applying, no drops of its own yet', () => {
    expect(statusFor(withState({}), targetB, 3, 10)).toMatchObject({ bundle: { serial: 5, digest: B }, phase: 'applying', drops: 0 });
  });
  it('the target enforced: active', () => {
    expect(statusFor(withState({ enforced: { ...enforcedA, serial: 5, bundleDigest: B } }), targetB, 7, 10)).toMatchObject({ bundle: { serial: 5, digest: B }, phase: 'active', drops: 7 });
  });
  it('the target rejected, or rolled back after a failed bake, with the code', () => {
    expect(statusFor(withState({ rejected: new Map([[B, rejection('self-test-mismatch')]]) }), targetB, 0, 10)).toMatchObject({ phase: 'rejected', reason: { code: 'self-test-mismatch', message: 'why' } });
    expect(statusFor(withState({ rejected: new Map([[B, rejection('bake-failed')]]) }), targetB, 0, 10)).toMatchObject({ phase: 'rolled-back', reason: { code: 'bake-failed' } });
  });
  it('an audit target: applying until the bundle runs in audit, then active in audit with its would-be drops', () => {
    expect(statusFor(withState({}), auditB, 3, 10)).toMatchObject({ bundle: { serial: 5, digest: B }, phase: 'applying', mode: 'enforce', drops: 0 });
    const auditing = withState({ enforced: { ...enforcedA, serial: 5, bundleDigest: B, audit: { kind: 'all' } } });
    expect(statusFor(auditing, auditB, 9, 10, 4)).toEqual({ bundle: { serial: 5, digest: B }, phase: 'active', mode: 'audit', reportedAt: 10, drops: 9, predictedDrops: 4 });
    // The next step enforces: still auditing, the node is applying (its drops so far still count) until it switched.
    expect(statusFor(auditing, targetB, 9, 11)).toMatchObject({ phase: 'applying', mode: 'audit', drops: 9 });
    // Audit of other namespaces is another mode: not active yet.
    expect(statusFor(auditing, { ...targetB, audit: { kind: 'namespaces', namespaces: ['payments'] } }, 9, 12)).toMatchObject({ phase: 'applying' });
  });
  it('a switch to enforce that failed its self-test is reported rejected', () => {
    const auditing = withState({ enforced: { ...enforcedA, serial: 5, bundleDigest: B, audit: { kind: 'all' } }, rejected: new Map([[B, rejection('self-test-mismatch')]]) });
    expect(statusFor(auditing, targetB, 9, 10)).toMatchObject({ phase: 'rejected', reason: { code: 'self-test-mismatch' } });
  });
});

describe('predictedDropsFor', () => {
  const pod = (name: string, ip: string, local: boolean) => ({ namespace: 'shop', name, labels: {}, namespaceLabels: {}, ips: [ip], ...(local ? { interface: `veth-${name}` } : {}) });
  const end = (name: string, ip: string) => ({ kind: 'pod' as const, ip, labels: [], namespace: 'shop', podName: name });
  const verdict = (v: 'FORWARDED' | 'DROPPED', at: 'egress' | 'ingress' | null) => ({ index: 0, verdict: v, drop_reason: v === 'DROPPED' ? ('POLICY_DENIED' as const) : null, dropped_at: at, allowed_by: [], denied_by: [] });
  const flow = (src: ReturnType<typeof end>, dst: ReturnType<typeof end>, isReply = false) => ({ index: 0, src, dst, protocol: 'TCP' as const, dstPort: 80, isReply });
  const web = end('web', '10.0.0.1');
  const db = end('db', '10.0.0.9');
  it('counts the recorded flows the bundle drops at a pod of this node, by address or by name', () => {
    const endpoints = { pods: [pod('web', '10.0.0.1', true), pod('db', '10.0.0.9', false)] };
    const probes = [
      { flow: flow(web, db), verdict: verdict('DROPPED', 'egress'), origin: 'recorded' }, // at web: local
      { flow: flow(db, web), verdict: verdict('DROPPED', 'ingress'), origin: 'recorded' }, // at web: local
      { flow: flow(web, db), verdict: verdict('DROPPED', 'ingress'), origin: 'recorded' }, // at db: another node
      { flow: flow(db, web, true), verdict: verdict('DROPPED', 'egress'), origin: 'recorded' }, // a reply: opened by web
      { flow: flow({ ...web, ip: '10.9.9.9' }, db), verdict: verdict('DROPPED', 'egress'), origin: 'recorded' }, // web by name
      { flow: flow(web, db), verdict: verdict('FORWARDED', null), origin: 'recorded' },
      { flow: flow(web, db), verdict: verdict('DROPPED', 'egress'), origin: 'edge: port range' }, // not recorded traffic
    ];
    expect(predictedDropsFor(probes, endpoints)).toBe(4);
  });
});

describe('RolloutLink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pld-link-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const records = new FsRecordStore(dir);
  const link = new RolloutLink(records, 'node-a', { role: 'canary' });

  it('reads the target (none, one without a size, a good one) and writes a status the controller parses', async () => {
    expect(await link.target()).toBeUndefined();
    const v = await records.putRecord(nodeTargetRecord('node-a'), { bundle: { serial: 5, digest: B }, mode: 'enforce', rollout: 5 }, null);
    expect(await link.target()).toBeUndefined();
    await records.putRecord(nodeTargetRecord('node-a'), { bundle: { serial: 5, digest: B, size: 100 }, mode: 'enforce', rollout: 5 }, v);
    expect(await link.target()).toEqual(targetB);
    await link.report(statusFor(withState({}), targetB, 0, 10));
    await link.report(statusFor(withState({ enforced: { ...enforcedA, serial: 5, bundleDigest: B } }), targetB, 2, 20));
    const rec = await records.getRecord(nodeStatusRecord('node-a'));
    expect(parseNodeStatus('node-a', rec!.value)).toEqual({ node: 'node-a', labels: { role: 'canary' }, bundle: { serial: 5, digest: B }, phase: 'active', mode: 'enforce', reportedAt: 20, drops: 2 });
  });

  it('reads an audit target, whole node or scoped to namespaces; a scope on an enforce target is malformed', async () => {
    const name = nodeTargetRecord('node-a');
    const put = async (value: unknown) => records.putRecord(name, value, (await records.getRecord(name))?.version ?? null);
    await put({ bundle: { serial: 5, digest: B, size: 100 }, mode: 'audit', rollout: 5 });
    expect(await link.target()).toEqual(auditB);
    await put({ bundle: { serial: 5, digest: B, size: 100 }, mode: 'audit', auditNamespaces: ['shop', 'payments'], rollout: 5 });
    expect(await link.target()).toEqual({ ...targetB, audit: { kind: 'namespaces', namespaces: ['payments', 'shop'] } });
    await put({ bundle: { serial: 5, digest: B, size: 100 }, mode: 'enforce', auditNamespaces: ['shop'], rollout: 5 });
    expect(await link.target()).toBeUndefined();
    await put({ bundle: { serial: 5, digest: B, size: 100 }, mode: 'audit', auditNamespaces: 'shop', rollout: 5 });
    expect(await link.target()).toBeUndefined();
  });
});
