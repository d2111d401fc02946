/** The agent/controller record contract: strict parsing of what the other side wrote. */
import { describe, expect, it } from 'vitest';
import { nodeOfStatusRecord, nodeOfTargetRecord, nodeStatusRecord, nodeTargetRecord, parseBundleRef, parseNodeStatus, parseNodeTarget } from '../../pipeline/core/rollout/index.js';

const digest = `sha256:${'a'.repeat(64)}`;
const good = { bundle: { serial: 3, digest }, phase: 'active', mode: 'enforce', reportedAt: 1_800_000_000_000, drops: 2, labels: { zone: 'a' } };

describe('rollout records contract', () => {
  it('names', () => {
    expect(nodeStatusRecord('node-a')).toBe('nodes/node-a/status');
    expect(nodeTargetRecord('node-a')).toBe('nodes/node-a/target');
    expect(nodeOfStatusRecord('nodes/node-a/status')).toBe('node-a');
    expect(nodeOfStatusRecord('nodes/node-a/target')).toBeUndefined();
    expect(nodeOfStatusRecord('nodes/../status')).toBeUndefined();
    expect(nodeOfTargetRecord('nodes/node-a/target')).toBe('node-a');
    expect(nodeOfTargetRecord('nodes/node-a/status')).toBeUndefined();
  });

  it('parses a well-formed status and keeps only the known fields', () => {
    expect(parseNodeStatus('node-a', { ...good, reason: { code: 'x', message: 'y' }, extra: 'ignored' })).toEqual({ node: 'node-a', ...good, reason: { code: 'x', message: 'y' } });
  });

  it.each([
    ['a bad digest', { ...good, bundle: { serial: 3, digest: 'sha256:zz' } }],
    ['a negative serial', { ...good, bundle: { serial: -1, digest } }],
    ['an unknown phase', { ...good, phase: 'happy' }],
    ['an unknown mode', { ...good, mode: 'monitor' }],
    ['fractional drops', { ...good, drops: 1.5 }],
    ['a label value that is not a string', { ...good, labels: { zone: 1 } }],
    ['too many labels', { ...good, labels: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])) }],
    ['a reason without a code', { ...good, reason: { message: 'y' } }],
    ['an array', [good]],
    ['null', null],
  ])('refuses a status with %s', (_what, value) => {
    expect(parseNodeStatus('node-a', value)).toBeUndefined();
  });

  it('targets and bundle references', () => {
    expect(parseNodeTarget({ bundle: { serial: 3, digest }, mode: 'audit', rollout: 3 })).toEqual({ bundle: { serial: 3, digest }, mode: 'audit', rollout: 3 });
    expect(parseNodeTarget({ bundle: null, mode: 'enforce', rollout: 0 })).toEqual({ bundle: null, mode: 'enforce', rollout: 0 });
    expect(parseNodeTarget({ bundle: { serial: 3, digest }, mode: 'enforce' })).toBeUndefined();
    expect(parseBundleRef({ serial: 2 ** 53, digest })).toBeUndefined();
    expect(parseBundleRef(null)).toBeNull();
  });
});
