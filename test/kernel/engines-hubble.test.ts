/**
 * Real Hubble recordings under the bookinfo policy set: `palisade simulate --engine kernel` prints the reference
 * engine's jsonl line for line.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { simulate } from '../compile/netpol-run.js';
import { BOOKINFO, HUBBLE, HUBBLE_FILES } from '../compile/hubble-files.js';
import { describeKernel, REPO } from './kernel-env.js';

describeKernel('real Hubble recordings: kernel engine = reference engine', () => {
  test('every recording, line for line', () => {
    for (const file of HUBBLE_FILES) {
      const args = ['simulate', '--policies', BOOKINFO, '--flows', file, '--format', 'jsonl'];
      const ref = simulate(args, 'reference');
      const ker = simulate(args, 'kernel');
      expect({ file: file.slice(HUBBLE.length + 1), status: ker.status, stderr: ker.stderr }).toEqual({ file: file.slice(HUBBLE.length + 1), status: 0, stderr: '' });
      expect(ker.lines).toEqual(ref.lines);
    }
  }, 120_000);

  test('the policy repository template with its recorded flows and inventory, line for line', () => {
    const tpl = join(REPO, 'policy-repo-template');
    const args = ['simulate', '--policies', join(tpl, 'policies'), '--flows', join(tpl, 'flows', 'recorded.json'), '--inventory', join(tpl, 'inventory.json'), '--format', 'jsonl'];
    const ref = simulate(args, 'reference');
    const ker = simulate(args, 'kernel');
    expect([ker.status, ker.stderr]).toEqual([0, '']);
    expect(ker.lines).toEqual(ref.lines);
  }, 120_000);
});
