/**
 * The kernel engine gives, through `palisade simulate --engine kernel --format jsonl`, exactly the lines the
 * reference engine gives on every NetworkPolicy conformance case.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CASE_COUNT, prepareCase, simulate } from '../compile/netpol-run.js';
import { describeKernel } from './kernel-env.js';

describeKernel('NetworkPolicy conformance cases: kernel engine = reference engine', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pld-netpol-kernel-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  test('every case, line for line', async () => {
    for (let i = 0; i < CASE_COUNT; i++) {
      const args = await prepareCase(dir, i);
      const ref = simulate(args, 'reference');
      const ker = simulate(args, 'kernel');
      expect({ case: i, stderr: ref.stderr, status: ref.status }).toEqual({ case: i, stderr: '', status: 0 });
      expect({ case: i, stderr: ker.stderr, status: ker.status }).toEqual({ case: i, stderr: '', status: 0 });
      expect(ker.lines).toEqual(ref.lines);
    }
  }, 300_000);
});
