/**
 * Runs the NetworkPolicy conformance cases end to end, the way an outside harness would: policies as YAML files,
 * the inventory as `kubectl get -o json` output, probes as `hubble observe -o json` lines, judged by
 * `palisade simulate --format jsonl` (the built CLI), and compared with the upstream-style truth tables; the tables
 * engine must print the same lines as the reference.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES } from './netpol-cases.js';
import { ALL_PODS, inventoryJson, podKey, probeLine, type Probe } from './netpol-model.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const cli = join(repoRoot, 'bin/palisade');
const built = existsSync(join(repoRoot, 'dist/pipeline/cli/commands/simulate.js'));

let dir: string;
let inventoryFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-netpol-'));
  inventoryFile = join(dir, 'inventory.json');
  await writeFile(inventoryFile, JSON.stringify(inventoryJson(), null, 1));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('NetworkPolicy conformance (upstream e2e netpol cases) through palisade simulate --format jsonl', () => {
  it('needs the built CLI (npm run build)', () => {
    expect(built, 'dist/ is missing: run npm run build before these tests').toBe(true);
  });

  it.each(CASES.map((c, i) => [i, c.name] as const))('case %i: %s', async (i) => {
    const c = CASES[i]!;
    const caseDir = join(dir, `case-${i}`);
    await mkdir(join(caseDir, 'policies'), { recursive: true });
    await writeFile(join(caseDir, 'policies', 'policies.yaml'), c.policies.map((p) => stringify(p)).join('---\n'));
    const probes: { probe: Probe; expected: boolean }[] = [];
    for (const { port, protocol, reachability } of c.probes) {
      for (const from of ALL_PODS) for (const to of ALL_PODS) probes.push({ probe: { from, to, port, protocol }, expected: reachability.allowed(from, to) });
    }
    const flowsFile = join(caseDir, 'flows.json');
    await writeFile(flowsFile, probes.map((p, n) => probeLine(p.probe, n)).join('\n') + '\n');
    const simulate = (engine: string) =>
      spawnSync(process.execPath, [cli, 'simulate', '--policies', join(caseDir, 'policies'), '--flows', flowsFile, '--inventory', inventoryFile, '--format', 'jsonl', '--engine', engine], {
        encoding: 'utf8',
        cwd: caseDir,
        maxBuffer: 64 * 1024 * 1024,
      });
    const run = simulate('reference');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const verdicts = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { index: number; verdict: string; drop_reason: string | null; dropped_at: string | null; allowed_by: unknown[] });
    expect(verdicts.map((v) => v.index)).toEqual(probes.map((_, n) => n));
    const wrong: string[] = [];
    probes.forEach(({ probe, expected }, n) => {
      const v = verdicts[n]!;
      const got = v.verdict === 'FORWARDED';
      if (got !== expected) wrong.push(`${probe.protocol}/${probe.port} ${podKey(probe.from)} -> ${podKey(probe.to)}: expected ${expected ? 'allowed' : 'blocked'}, got ${JSON.stringify(v)}`);
      // NetworkPolicy has no deny rules: every drop is "no rule allows it".
      else if (!got && v.drop_reason !== 'POLICY_DENIED') wrong.push(`${podKey(probe.from)} -> ${podKey(probe.to)}: drop reason ${v.drop_reason}`);
    });
    expect(wrong.slice(0, 12), `${wrong.length} of ${probes.length} probes disagree`).toEqual([]);
    // The compiled-tables engine must give the same answer, byte for byte.
    const tables = simulate('tables');
    expect(tables.status, tables.stderr).toBe(0);
    const tableLines = tables.stdout.trimEnd().split('\n');
    const firstDiff = tableLines.findIndex((l, n) => l !== run.stdout.trimEnd().split('\n')[n]);
    expect(firstDiff === -1 ? null : { probe: probes[firstDiff]?.probe, reference: run.stdout.split('\n')[firstDiff], tables: tableLines[firstDiff] }).toBeNull();
  });
});
