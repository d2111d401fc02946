/**
 * The template's recorded traffic is generated (policy-repo-template/flows/generate.mjs) and must stay what the
 * starter policies give: every recorded verdict equals the reference engine's, and the committed files are exactly
 * the generator's output.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { FlowReader, readInventory } from '../../pipeline/flows/index.js';
import { readPolicyFiles } from '../../pipeline/sources/index.js';
import { judgeFlows, referenceEngine } from '../../pipeline/simulate/index.js';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policy-repo-template');
const RECORDED = join(TEMPLATE, 'flows', 'recorded.json');

interface RawFlow {
  verdict: string;
  drop_reason_desc?: string;
  Type: string;
  l7?: { dns?: { ips?: string[] }; http?: unknown };
  IP: { destination: string };
}
const raw: RawFlow[] = readFileSync(RECORDED, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { flow: RawFlow }).flow);

describe('the template recording', () => {
  it('is exactly what generate.mjs produces', () => {
    const r = spawnSync(process.execPath, [join(TEMPLATE, 'flows', 'generate.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(up to date)');
  });

  it('holds a few hundred flows with DNS answers, HTTP, drops and world traffic', () => {
    expect(raw.length).toBeGreaterThan(300);
    expect(raw.length).toBeLessThan(2_000);
    expect(raw.some((f) => (f.l7?.dns?.ips ?? []).length > 0)).toBe(true);
    expect(raw.some((f) => f.l7?.http)).toBe(true);
    expect(raw.some((f) => f.IP.destination === '169.254.169.254' && f.drop_reason_desc === 'POLICY_DENY')).toBe(true);
    expect(raw.filter((f) => f.verdict === 'DROPPED').length).toBeGreaterThan(10);
  });

  it('records the verdicts the starter policies give, flow by flow', async () => {
    const { files, diagnostics: io } = await readPolicyFiles(join(TEMPLATE, 'policies'), { displayBase: TEMPLATE });
    expect(io).toEqual([]);
    const { model, diagnostics } = loadPolicyModel(files);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const inventory = await readInventory([join(TEMPLATE, 'inventory.json')]);
    const reader = new FlowReader([RECORDED], { inventory });
    const mismatches: string[] = [];
    let proxied = 0;
    for await (const { flow, verdict } of judgeFlows(referenceEngine(model, { services: inventory.services }), reader.flows())) {
      const rec = raw[flow.index]!;
      // REDIRECTED is Hubble's word for a forwarded flow handed to the L7 proxy.
      const recorded = rec.verdict === 'REDIRECTED' ? 'FORWARDED' : rec.verdict;
      if (rec.verdict === 'REDIRECTED') proxied++;
      if (recorded !== verdict.verdict) mismatches.push(`flow ${flow.index}: recorded ${rec.verdict}, simulated ${verdict.verdict}`);
      if (rec.verdict === 'REDIRECTED' && verdict.l7 !== 'proxy') mismatches.push(`flow ${flow.index}: recorded REDIRECTED, not proxied`);
      if (rec.Type === 'L3_L4' && rec.verdict === 'DROPPED' && rec.drop_reason_desc !== verdict.drop_reason) {
        mismatches.push(`flow ${flow.index}: recorded ${rec.drop_reason_desc}, simulated ${verdict.drop_reason}`);
      }
    }
    expect(reader.stats.flows).toBe(raw.length);
    expect(proxied).toBeGreaterThan(0);
    expect(mismatches).toEqual([]);
  });
});
