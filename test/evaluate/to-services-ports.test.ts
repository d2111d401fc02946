/**
 * toServices with toPorts, as Cilium 1.17+ enforces it: the service's selector becomes an endpoint selector on its
 * backends, and L4 policy applies after service translation, so toPorts compare the backend's port (the Service's
 * targetPort), never the service port. A flow recorded to the cluster IP is read as the datapath judges it: to the
 * first backend, on the targetPort (numeric, or named and resolved on that backend). Reference and tables engines
 * agree on every verdict.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Flow } from '../../pipeline/core/flow/types.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { FlowReader, Inventory } from '../../pipeline/flows/index.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';

const inventory = new Inventory([
  { kind: 'Namespace', metadata: { name: 'shop' } },
  { kind: 'Namespace', metadata: { name: 'data' } },
  { kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } }, status: { podIP: '10.1.0.2' } },
  {
    kind: 'Pod',
    metadata: { name: 'api-0', namespace: 'data', labels: { app: 'api' } },
    spec: { containers: [{ name: 'c', ports: [{ name: 'https', containerPort: 8443, protocol: 'TCP' }] }] },
    status: { podIP: '10.1.0.5' },
  },
  { kind: 'Pod', metadata: { name: 'db-0', namespace: 'data', labels: { app: 'db' } }, status: { podIP: '10.1.0.9' } },
  {
    kind: 'Service',
    metadata: { name: 'api', namespace: 'data', labels: { tier: 'backend' } },
    spec: {
      clusterIP: '10.96.0.10',
      selector: { app: 'api' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'tls', port: 443, targetPort: 'https' },
      ],
    },
  },
]);

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-out, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
    - toServices:
        - k8sService: {serviceName: api, namespace: data}
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
    - toServices:
        - k8sServiceSelector: {selector: {matchLabels: {tier: backend}}}
      toPorts:
        - ports: [{port: "8443", protocol: TCP}]
`;

const web = { identity: 300, namespace: 'shop', pod_name: 'web-0', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'] };
const record = (dst: string, port: number, extra: Record<string, unknown> = {}) => ({
  time: '2026-01-01T00:00:00Z',
  verdict: 'FORWARDED',
  IP: { source: '10.1.0.2', destination: dst, ipVersion: 'IPv4' },
  l4: { TCP: { source_port: 40000, destination_port: port } },
  source: web,
  destination: {},
  ...extra,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-to-services-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(records: object[]): Promise<Flow[]> {
  const path = join(dir, `flows-${records.length}.json`);
  await writeFile(path, records.map((r) => JSON.stringify(r)).join('\n'));
  const out: Flow[] = [];
  for await (const f of new FlowReader([path], { inventory }).flows()) out.push(f);
  return out;
}

describe('toServices with toPorts', () => {
  const loaded = loadPolicyModel([{ path: 'policies/web.yaml', text: POLICY }]);

  it('is valid, with a warning that the ports are backend ports', () => {
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(loaded.diagnostics.map((d) => d.code)).toEqual(['services-with-toports', 'services-with-toports']);
  });

  it('reads a flow to the cluster IP as one to the backend on its targetPort (numeric and named)', async () => {
    const flows = await read([record('10.96.0.10', 80), record('10.96.0.10', 443), record('10.96.0.10', 8080)]);
    expect(flows.map((f) => [f.dst.podName, f.dst.ip, f.dstPort])).toEqual([
      ['api-0', '10.1.0.5', 8080],
      ['api-0', '10.1.0.5', 8443],
      // Not a port the service exposes: nothing to translate.
      ['api-0', '10.1.0.5', 8080],
    ]);
  });

  it('translates the source port of a reply from the service', async () => {
    const reply = {
      ...record('10.1.0.2', 40000),
      IP: { source: '10.96.0.10', destination: '10.1.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 80, destination_port: 40000 } },
      source: {},
      destination: web,
      is_reply: true,
    };
    const [f] = await read([reply]);
    expect([f!.src.podName, f!.srcPort, f!.dstPort]).toEqual(['api-0', 8080, 40000]);
  });

  it('compares the backend port: allowed on the targetPort, dropped on the service port, same in both engines', async () => {
    const flows = await read([
      record('10.96.0.10', 80), // → api-0:8080, allowed by the first rule
      record('10.96.0.10', 443), // → api-0:8443 (named targetPort), allowed by the second rule
      record('10.1.0.5', 8080), // recorded after translation: the same verdict
      record('10.1.0.5', 80), // the service port on the backend: no rule names it
      record('10.1.0.9', 8080), // not a backend of the service
    ]);
    const ref = referenceVerdicts(loaded.model, flows, inventory.services);
    expect(ref.map((v) => [v.verdict, v.allowed_by.map((r) => r.rule.split('/').pop())])).toEqual([
      ['FORWARDED', ['0']],
      ['FORWARDED', ['1']],
      ['FORWARDED', ['0']],
      ['DROPPED', []],
      ['DROPPED', []],
    ]);
    const tables = await engineVerdicts(await createEngine(loaded.model, { services: inventory.services }), flows);
    expect(disagreements(flows, ref, tables)).toEqual([]);
  });

  it('matches a service of that name in any namespace when the reference names none (Cilium)', () => {
    const anyNs = loadPolicyModel([{ path: 'p.yaml', text: POLICY.replace('serviceName: api, namespace: data', 'serviceName: api') }]);
    const peer = anyNs.model.specs[0]!.rules[0]!.peers![0]!;
    expect(peer).toMatchObject({ kind: 'service', name: 'api' });
    expect('namespace' in peer).toBe(false);
  });
});
