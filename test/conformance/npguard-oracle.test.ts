/**
 * Kubernetes NetworkPolicy against an independent oracle: the np-guard/netpol-analyzer test data converted under
 * ../shared/oracles/npguard (README there), run through the built CLI (bin/palisade on dist/) with the reference
 * engine. Every probe must agree. Required when CI=true (CI copies shared/ beside the clone); skipped with a notice
 * when the oracle is absent elsewhere.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ORACLE = path.resolve(ROOT, '..', 'shared', 'oracles', 'npguard');
const RUNNER = path.join(ORACLE, 'run.mjs');
/** Probes in the converted data (README: 114 test dirs, 778,521 probes). */
const EXPECTED_PROBES = 778_521;
const EXPECTED_DIRS = 114;

const present = existsSync(RUNNER);
if (!present && process.env.CI !== 'true') console.warn(`[npguard-oracle] skipped: oracle not found at ${ORACLE}`);

describe.skipIf(!present && process.env.CI !== 'true')('np-guard NetworkPolicy oracle (reference engine)', () => {
  it('finds the oracle (required under CI)', () => {
    expect(present, `np-guard oracle missing at ${ORACLE}`).toBe(true);
  });

  it('agrees on every probe', () => {
    expect(existsSync(path.join(ROOT, 'dist', 'pipeline', 'cli', 'main.js')), 'dist/ is not built: run `npm run build` first').toBe(true);
    const r = spawnSync(process.execPath, [RUNNER, ROOT], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    const summary = /np-guard connlist: (\d+)\/(\d+) probes \([\d.]+%\), (\d+)\/(\d+) test dirs fully right/.exec(r.stdout ?? '');
    expect(summary, `no summary line; exit ${r.status}\n${(r.stdout ?? '').slice(-4000)}\n${(r.stderr ?? '').slice(-2000)}`).not.toBeNull();
    const [, agree, probes, dirsOk, dirs] = summary!.map(Number);
    expect({ probes, dirs }).toEqual({ probes: EXPECTED_PROBES, dirs: EXPECTED_DIRS });
    // Disagreements are listed above the summary when there are any.
    expect({ disagreements: probes! - agree!, dirsWrong: dirs! - dirsOk! }, (r.stdout ?? '').slice(0, 4000)).toEqual({ disagreements: 0, dirsWrong: 0 });
    expect(r.status).toBe(0);
  }, 900_000);
});
