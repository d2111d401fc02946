/**
 * The demo's plan and predictions from the shipped template: which pods run where, which connections the live pods
 * make, and what the simulation says of them before and after each of the demo's pull requests.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { planLab } from '../../pipeline/demo/lab-plan.js';
import { MOVE_POSTGRES_PORT, SCRAPE_COREDNS, SHOP_DNS_UDP_ONLY, type PolicyChange } from '../../pipeline/demo/policy-changes.js';
import { predictConnections } from '../../pipeline/demo/predict.js';

const TEMPLATE = join(import.meta.dirname, '..', '..', 'policy-repo-template');
const plan = planLab(JSON.parse(readFileSync(join(TEMPLATE, 'inventory.json'), 'utf8')), readFileSync(join(TEMPLATE, 'flows', 'recorded.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'palisade-demo-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The template's policies with `change` applied, judged for every connection: id → allowed. */
async function verdicts(change?: PolicyChange): Promise<Map<string, boolean>> {
  const repo = join(dir, change?.branch ?? 'base');
  cpSync(TEMPLATE, repo, { recursive: true });
  if (change) await change.edit(repo);
  const p = await predictConnections(join(repo, 'policies'), join(repo, 'inventory.json'), plan.connections, join(repo, 'connections.jsonl'));
  return new Map([...p].map(([k, v]) => [k, v.allowed]));
}

const changed = (a: Map<string, boolean>, b: Map<string, boolean>): string[] => [...a].filter(([k, v]) => b.get(k) !== v).map(([k, v]) => `${k}: ${v ? 'allowed' : 'dropped'} → ${b.get(k) ? 'allowed' : 'dropped'}`);

describe('the demo plan', () => {
  test('one pod per workload with its recorded IP and named ports, placed by namespace on three nodes', () => {
    expect(plan.pods.map((p) => `${p.node} ${p.id} ${p.ipv4}`)).toEqual([
      'node-1 shop/frontend 10.244.1.21',
      'node-1 shop/api 10.244.1.34',
      'node-2 data/db 10.244.1.52',
      'node-2 data/cache 10.244.2.41',
      'node-3 payments/payments 10.244.2.48',
      'node-3 monitoring/prometheus 10.244.1.60',
      'node-2 kube-system/coredns 10.244.1.3',
    ]);
    expect(plan.pods.find((p) => p.id === 'data/db')?.ports).toContainEqual({ port: 5432, protocol: 'TCP', name: 'postgres' });
    expect(plan.nodes.map((n) => `${n.name} ${JSON.stringify(n.labels)}`)).toEqual(['node-1 {"role":"canary"}', 'node-2 {}', 'node-3 {}']);
  });

  test('connections between the pods come from the recording, once each; DNS over TCP is added and marked unrecorded', () => {
    const ids = plan.connections.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('shop/frontend → shop/api TCP/8080');
    expect(ids).toContain('shop/frontend → data/db TCP/5432');
    expect(plan.connections.filter((c) => !c.recorded).map((c) => c.id)).toEqual([
      'payments/payments → kube-system/coredns TCP/53',
      'shop/api → kube-system/coredns TCP/53',
      'shop/frontend → kube-system/coredns TCP/53',
    ]);
    // Recorded drops are not needed by the application: they do not count for a node's health.
    expect(plan.connections.find((c) => c.id === 'shop/frontend → data/db TCP/5432')?.critical).toBe(false);
    expect(plan.connections.find((c) => c.id === 'shop/api → data/db TCP/5432')?.critical).toBe(true);
    // Stand-in flows are addressed to the demo pods.
    const api = JSON.parse(plan.connections.find((c) => c.id === 'shop/api → kube-system/coredns TCP/53')!.flowLine) as { flow: { IP: { source: string; destination: string }; l4: unknown } };
    expect(api.flow.IP).toMatchObject({ source: '10.244.1.34', destination: '10.244.1.3' });
    expect(api.flow.l4).toEqual({ TCP: { source_port: 40053, destination_port: 53, flags: { SYN: true } } });
  });
});

describe('what the simulation says of the demo changes', () => {
  test('the template: recorded drops stay dropped, everything the application needs is allowed', async () => {
    const base = await verdicts();
    expect([...base].filter(([, v]) => !v).map(([k]) => k)).toEqual(['monitoring/prometheus → kube-system/coredns TCP/9153', 'shop/frontend → data/db TCP/5432']);
  });

  test('each pull request changes exactly what the story says', async () => {
    const base = await verdicts();
    expect(changed(base, await verdicts(MOVE_POSTGRES_PORT))).toEqual(['shop/api → data/db TCP/5432: allowed → dropped']);
    // Only unrecorded connections change: the PR check (recorded flows) sees nothing, the live canary does.
    const dns = changed(base, await verdicts(SHOP_DNS_UDP_ONLY));
    expect(dns).toEqual(['shop/api → kube-system/coredns TCP/53: allowed → dropped', 'shop/frontend → kube-system/coredns TCP/53: allowed → dropped']);
    for (const line of dns) expect(plan.connections.find((c) => line.startsWith(c.id))?.recorded).toBe(false);
    expect(changed(base, await verdicts(SCRAPE_COREDNS))).toEqual(['monitoring/prometheus → kube-system/coredns TCP/9153: dropped → allowed']);
  });

  test('a change whose text is not in the template fails loudly', async () => {
    const repo = join(dir, 'edited');
    cpSync(TEMPLATE, repo, { recursive: true });
    await MOVE_POSTGRES_PORT.edit(repo);
    await expect(MOVE_POSTGRES_PORT.edit(repo)).rejects.toThrow(/policies\/data\/postgres\.yaml: the text this demo change edits is not there/);
  });
});
