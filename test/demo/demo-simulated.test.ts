/**
 * `palisade demo` without root: one line says so, and the same loop runs with the agents' datapath replaced by the
 * tables engine, marked SIMULATED. As root (CI) the test drops to the `nobody` user with setpriv, as a user without
 * root would run it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { DemoResult } from '../../pipeline/demo/run-demo.js';
import { ROOT } from '../handlers/policy-repo.js';

function demoAsUser(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = join(ROOT, 'bin', 'palisade');
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', bin, 'demo', ...args]] : [bin, ['demo', ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv as string[], { cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('without root: one line says so; the same loop runs on the tables engine, marked simulated, and holds', async () => {
  const { code, stdout, stderr } = await demoAsUser(['--format', 'json']);
  const r = JSON.parse(stdout) as DemoResult;
  expect(r.error, stderr).toBeUndefined();
  expect(code, stderr).toBe(0);
  expect(stderr.split('\n')[0]).toMatch(/^palisade demo: not root .*: running the same loop with the agents' datapath replaced by the tables engine; every verdict below is SIMULATED, nothing is enforced$/);
  // Every line that would claim enforcement says it is simulated.
  for (const line of stderr.split('\n').filter((l) => /enforcing serial|rolled back by itself| traffic over/.test(l))) expect(line).toMatch(/simulated|SIMULATED/);
  expect(r.datapath).toBe('simulated');
  expect(r.ok).toBe(true);
  expect(r.initial?.waves).toEqual([{ wave: 0, nodes: ['node-1'] }, { wave: 1, nodes: ['node-2', 'node-3'] }]);
  expect(r.breakingPullRequest?.conclusion).toBe('failure');
  expect(r.breakingPullRequest?.annotations).toContainEqual(expect.objectContaining({ path: 'policies/data/postgres.yaml', line: 15 }));
  expect(r.badChange?.phase).toBe('aborted');
  expect(r.badChange?.nodesThatRanIt).toEqual(['node-1']);
  expect(r.badChange?.serials).toEqual({ 'node-1': 1, 'node-2': 1, 'node-3': 1 });
  expect(r.goodChange?.serials).toEqual({ 'node-1': 3, 'node-2': 3, 'node-3': 3 });
  expect(r.leftovers).toEqual([]);
}, 240_000);
