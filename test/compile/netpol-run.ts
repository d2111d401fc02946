/**
 * Runs B's NetworkPolicy conformance cases (test/conformance/) through the built CLI with a chosen engine, so the
 * engines can be compared on the same YAML policies, inventory and Hubble probe lines end to end.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { CASES } from '../conformance/netpol-cases.js';
import { ALL_PODS, inventoryJson, probeLine, type Probe } from '../conformance/netpol-model.js';

export const REPO = resolve(import.meta.dirname, '../..');
const CLI = join(REPO, 'bin/palisade');

/** Writes case `i` (policies, probes, inventory) under `dir`. @returns the CLI arguments that simulate it */
export async function prepareCase(dir: string, i: number): Promise<string[]> {
  const c = CASES[i]!;
  const caseDir = join(dir, `case-${i}`);
  await mkdir(join(caseDir, 'policies'), { recursive: true });
  await writeFile(join(caseDir, 'policies', 'policies.yaml'), c.policies.map((p) => stringify(p)).join('---\n'));
  const probes: Probe[] = [];
  for (const { port, protocol } of c.probes) for (const from of ALL_PODS) for (const to of ALL_PODS) probes.push({ from, to, port, protocol });
  await writeFile(join(caseDir, 'flows.json'), probes.map((p, n) => probeLine(p, n)).join('\n') + '\n');
  await writeFile(join(caseDir, 'inventory.json'), JSON.stringify(inventoryJson(), null, 1));
  return ['simulate', '--policies', join(caseDir, 'policies'), '--flows', join(caseDir, 'flows.json'), '--inventory', join(caseDir, 'inventory.json'), '--format', 'jsonl'];
}

/** `palisade <args> --engine <engine>`: exit status, stdout lines, stderr. */
export function simulate(args: readonly string[], engine: string): { status: number | null; lines: string[]; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args, '--engine', engine], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: run.status, lines: run.stdout.trimEnd().split('\n'), stderr: run.stderr };
}

export const CASE_COUNT = CASES.length;
export const CASE_NAMES = CASES.map((c) => c.name);
