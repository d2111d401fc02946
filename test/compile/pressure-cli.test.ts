/**
 * Map pressure end to end: a YAML policy set that gives one endpoint more than 16,384 policy entries makes
 * `palisade simulate --engine tables` fail with one clear line naming the endpoint and its count, and no verdicts.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { simulate } from './netpol-run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-pressure-'));
  await mkdir(join(dir, 'policies'));
  // 450 toPorts entries of 40 single UDP ports each (Cilium's per-entry maximum): 18,000 ports from one peer.
  const entries = Array.from({ length: 450 }, (_, e) =>
    `        - ports: [${Array.from({ length: 40 }, (_, i) => `{ port: "${1 + e * 80 + 2 * i}", protocol: UDP }`).join(', ')}]`,
  );
  await writeFile(
    join(dir, 'policies', 'big.yaml'),
    ['apiVersion: cilium.io/v2', 'kind: CiliumNetworkPolicy', 'metadata: { name: big, namespace: default }', 'spec:', '  endpointSelector: { matchLabels: { app: api } }', '  ingress:', '    - fromEndpoints: [{ matchLabels: { app: web } }]', '      toPorts:', ...entries, ''].join('\n'),
  );
  const endpoint = (ip: string, app: string, pod: string) => ({ identity: 300, namespace: 'default', labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=default'], pod_name: pod, ip });
  const flow = {
    flow: {
      time: '2024-01-01T00:00:00Z',
      verdict: 'FORWARDED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { UDP: { source_port: 4000, destination_port: 5 } },
      source: endpoint('10.0.0.1', 'web', 'web-1'),
      destination: endpoint('10.0.0.2', 'api', 'api-1'),
      traffic_direction: 'INGRESS',
      is_reply: false,
    },
  };
  await writeFile(join(dir, 'flows.json'), `${JSON.stringify(flow)}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('names the overflowing endpoint and its entry count, and prints no verdicts', () => {
  const args = ['simulate', '--policies', join(dir, 'policies'), '--flows', join(dir, 'flows.json'), '--format', 'jsonl'];
  const tab = simulate(args, 'tables');
  expect(tab.status).toBe(1);
  expect(tab.lines).toEqual(['']);
  expect(tab.stderr).toBe(
    'palisade: policy map of endpoint default/api-1 (10.0.0.2) would hold 18001 entries, more than the maximum of 16384: narrow the policies that select it or raise the map size [policy-map-overflow]\n',
  );
  // The reference evaluator has no map: it judges the flow.
  expect(simulate(args, 'reference').status).toBe(0);
});
