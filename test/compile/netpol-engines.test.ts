/**
 * The tables engine gives, through `palisade simulate --engine tables --format jsonl`, exactly the lines the
 * reference engine gives on every NetworkPolicy conformance case (YAML policies, inventory and Hubble probes).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASE_COUNT, CASE_NAMES, prepareCase, REPO, simulate } from './netpol-run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-netpol-engines-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('NetworkPolicy conformance cases: tables engine = reference engine, line for line', () => {
  it('needs the built CLI (npm run build)', () => {
    expect(existsSync(join(REPO, 'dist/pipeline/simulate/engines/tables.js'))).toBe(true);
  });
  it.each(Array.from({ length: CASE_COUNT }, (_, i) => [i, CASE_NAMES[i]!] as const))('case %i: %s', async (i) => {
    const args = await prepareCase(dir, i);
    const ref = simulate(args, 'reference');
    const tab = simulate(args, 'tables');
    expect(ref.stderr).toBe('');
    expect(tab.stderr).toBe('');
    expect([ref.status, tab.status]).toEqual([0, 0]);
    expect(ref.lines.length).toBeGreaterThan(0);
    expect(tab.lines).toEqual(ref.lines);
  });
});
