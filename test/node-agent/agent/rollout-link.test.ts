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
import { RolloutLink, statusFor, type NodeTargetView } from '../../../node-agent/agent/rollout-link.js';
import type { AgentState, EnforcedRecord, RejectionRecord } from '../../../node-agent/agent/types.js';
import { freshState } from './fixtures.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const enforcedA: EnforcedRecord = { serial: 4, rollbackOf: null, manifestDigest: A, bundleDigest: A, repository: 'r', commit: 'c', generation: 0, since: '2026-12-01T00:00:00Z' };
const targetB: NodeTargetView = { descriptor: { serial: 5, digest: B, size: 100 }, mode: 'enforce' };
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
  it('an audit target is refused honestly (this agent cannot audit yet)', () => {
    expect(statusFor(withState({}), { ...targetB, mode: 'audit' }, 0, 10)).toMatchObject({ phase: 'rejected', reason: { code: 'audit-unsupported' } });
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
});
