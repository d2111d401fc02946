/**
 * Real Hubble recordings (../shared/corpus/hubble) under a bookinfo policy set with L7, DNS, toFQDNs, deny, ICMP and
 * CIDR rules (fixtures/bookinfo-policies.yaml): `palisade simulate --engine tables` prints the reference engine's
 * jsonl line for line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, simulate } from './netpol-run.js';
import { BOOKINFO, HUBBLE, HUBBLE_FILES } from './hubble-files.js';

describe('real Hubble recordings: tables engine = reference engine', () => {
  it('the recordings and the policy set decide something', () => {
    const all = HUBBLE_FILES.flatMap((f) => simulate(['simulate', '--policies', BOOKINFO, '--flows', f, '--format', 'jsonl'], 'reference').lines);
    const verdicts = all.map((l) => JSON.parse(l) as { verdict: string; l7?: string; allowed_by: unknown[] });
    expect(verdicts.filter((v) => v.verdict === 'DROPPED').length).toBeGreaterThan(0);
    expect(verdicts.filter((v) => v.l7 === 'proxy').length).toBeGreaterThan(0);
    expect(verdicts.filter((v) => v.allowed_by.length > 0).length).toBeGreaterThan(0);
  });
  it.each(HUBBLE_FILES.map((f) => [f.slice(HUBBLE.length + 1)]))('%s', (rel) => {
    const args = ['simulate', '--policies', BOOKINFO, '--flows', join(HUBBLE, rel), '--format', 'jsonl'];
    const ref = simulate(args, 'reference');
    const tab = simulate(args, 'tables');
    expect([ref.status, tab.status, ref.stderr, tab.stderr]).toEqual([0, 0, '', '']);
    expect(tab.lines).toEqual(ref.lines);
  });

  it('the policy repository template with its recorded flows and inventory', () => {
    const tpl = join(REPO, 'policy-repo-template');
    const args = ['simulate', '--policies', join(tpl, 'policies'), '--flows', join(tpl, 'flows', 'recorded.json'), '--inventory', join(tpl, 'inventory.json'), '--format', 'jsonl'];
    const ref = simulate(args, 'reference');
    const tab = simulate(args, 'tables');
    expect([ref.status, tab.status, ref.stderr, tab.stderr]).toEqual([0, 0, '', '']);
    expect(ref.lines.length).toBeGreaterThan(100);
    expect(tab.lines).toEqual(ref.lines);
  });
});
