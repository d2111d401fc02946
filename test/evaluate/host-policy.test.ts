/**
 * Host policies (CiliumClusterwideNetworkPolicy with `nodeSelector`, the host firewall) are enforced on node
 * endpoints — the local host and other nodes — by the reference evaluator, and the tables engine agrees on every
 * verdict (node endpoints a host policy selects get an endpoint and a policy map like pods). Node labels come from
 * the inventory's Node objects through the flow reader; an unknown node carries only its reserved label.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Flow, FlowEndpoint, Verdict } from '../../pipeline/core/flow/types.js';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { FlowReader, Inventory } from '../../pipeline/flows/index.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';
import { flow, reserved } from './model-builder.js';
import { api, HOST_POLICY, otherWorker, plainHost, web, worker, world } from './host-policy-fixtures.js';

function load(text: string): PolicyModel {
  const r = loadPolicyModel([{ path: 'policies/host.yaml', text }]);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.model;
}

/** Reference verdicts, checked against the tables engine flow by flow. */
async function judgeAll(model: PolicyModel, flows: Flow[]): Promise<Verdict[]> {
  const ref = referenceVerdicts(model, flows);
  const tables = await engineVerdicts(await createEngine(model, {}), flows);
  expect(disagreements(flows, ref, tables)).toEqual([]);
  return ref;
}

const summary = (v: Verdict) => [v.verdict, v.dropped_at, v.drop_reason, v.allowed_by.map((r) => r.name), v.denied_by.map((r) => r.name)];

describe('host policies (nodeSelector)', () => {
  const model = load(HOST_POLICY);

  it('enforce ingress on the selected host: default-deny, allow rules, attribution', async () => {
    const v = await judgeAll(model, [
      flow(web, worker, { index: 0, dstPort: 22 }),
      flow(web, worker, { index: 1, dstPort: 80 }),
      flow(world, worker, { index: 2, dstPort: 22 }),
      flow(otherWorker, worker, { index: 3, dstPort: 22 }),
    ]);
    expect(v.map(summary)).toEqual([
      ['FORWARDED', null, null, ['ingress-workers'], []],
      ['DROPPED', 'ingress', 'POLICY_DENIED', [], []],
      ['DROPPED', 'ingress', 'POLICY_DENIED', [], []],
      // The sending node is selected too; its egress has only a deny rule (default-deny off): cluster traffic passes.
      ['FORWARDED', null, null, ['ingress-workers'], []],
    ]);
  });

  it('leave nodes the selector does not pick alone', async () => {
    const v = await judgeAll(model, [flow(web, plainHost, { index: 0, dstPort: 80 }), flow(plainHost, world, { index: 1, dstPort: 25 })]);
    expect(v.map((x) => x.verdict)).toEqual(['FORWARDED', 'FORWARDED']);
  });

  it('enforce egress on the selected host, and on another selected node (remote-node) alike', async () => {
    const v = await judgeAll(model, [
      flow(worker, world, { index: 0, dstPort: 25 }),
      flow(worker, world, { index: 1, dstPort: 443 }),
      flow(otherWorker, world, { index: 2, dstPort: 25 }),
      flow(world, otherWorker, { index: 3, dstPort: 80 }),
    ]);
    expect(v.map(summary)).toEqual([
      ['DROPPED', 'egress', 'POLICY_DENY', [], ['ingress-workers']],
      ['FORWARDED', null, null, [], []],
      ['DROPPED', 'egress', 'POLICY_DENY', [], ['ingress-workers']],
      ['DROPPED', 'ingress', 'POLICY_DENIED', [], []],
    ]);
  });

  it('keep the local host exemption for pods, but judge the host side of that traffic', async () => {
    const v = await judgeAll(model, [flow(worker, api, { index: 0, dstPort: 8080 }), flow(plainHost, api, { index: 1, dstPort: 8080 }), flow(web, api, { index: 2 })]);
    // api is default-deny on ingress, but the local host may always reach it; the worker's egress has default-deny
    // switched off, so nothing stops it.
    expect(v.map((x) => x.verdict)).toEqual(['FORWARDED', 'FORWARDED', 'FORWARDED']);
    const hostEgressLock = load(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: host-egress}
spec:
  nodeSelector: {}
  egress:
    - toEntities: [world]
`);
    const w = await judgeAll(hostEgressLock, [flow(worker, api, { index: 0, dstPort: 8080 }), flow(worker, world, { index: 1, dstPort: 443 })]);
    expect(w.map(summary)).toEqual([
      ['DROPPED', 'egress', 'POLICY_DENIED', [], []],
      ['FORWARDED', null, null, ['host-egress'], []],
    ]);
  });

  it('select by the labels known: an unknown node matches only label-free node selectors', async () => {
    const unknown = reserved('host', '192.168.0.20');
    const everyNode = load(HOST_POLICY.replace('nodeSelector: {matchLabels: {type: ingress-worker}}', 'nodeSelector: {}'));
    const v = await judgeAll(model, [flow(web, unknown, { index: 0, dstPort: 80 })]);
    const w = await judgeAll(everyNode, [flow(web, unknown, { index: 0, dstPort: 80 })]);
    expect([v[0]!.verdict, w[0]!.verdict]).toEqual(['FORWARDED', 'DROPPED']);
  });
});

describe('node labels from the inventory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'palisade-host-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const inventory = new Inventory([
    { kind: 'Node', metadata: { name: 'node-a', labels: { type: 'ingress-worker' } }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] } },
    { kind: 'Node', metadata: { name: 'node-b', labels: { type: 'general' } }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.11' }] } },
  ]);
  const webEndpoint = { identity: 300, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'] };
  const record = (dstIp: string, destination: object, extra: object = {}) => ({
    flow: {
      time: '2026-01-01T00:00:00Z',
      verdict: 'FORWARDED',
      IP: { source: '10.0.0.1', destination: dstIp, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: 80 } },
      source: webEndpoint,
      destination,
    },
    ...extra,
  });

  it('gives host and remote-node endpoints their node labels, by address or by the node the flow was seen on', async () => {
    const path = join(dir, 'flows.json');
    const lines = [
      record('192.168.0.10', { identity: 6, labels: ['reserved:remote-node'] }),
      record('10.0.0.254', { identity: 1, labels: ['reserved:host'] }, { node_name: 'node-b' }),
      record('10.0.0.253', { identity: 1, labels: ['reserved:host'] }, { node_name: 'node-unknown' }),
    ];
    await writeFile(path, lines.map((l) => JSON.stringify(l)).join('\n'));
    const flows: Flow[] = [];
    for await (const f of new FlowReader([path], { inventory }).flows()) flows.push(f);
    const text = (e: FlowEndpoint) => e.labels.map((l) => `${l.source}:${l.key}=${l.value}`).sort();
    expect(flows.map((f) => [f.dst.kind, text(f.dst)])).toEqual([
      ['remote-node', ['k8s:type=ingress-worker', 'reserved:remote-node=']],
      ['host', ['k8s:type=general', 'reserved:host=']],
      ['host', ['reserved:host=']],
    ]);
    const v = await judgeAll(load(HOST_POLICY), flows);
    expect(v.map((x) => x.verdict)).toEqual(['DROPPED', 'FORWARDED', 'FORWARDED']);
  });
});
