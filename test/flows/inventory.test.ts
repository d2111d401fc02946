import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowIoError, InventoryError, MAX_YAML_INVENTORY_BYTES, parseInventoryText, readInventory, workloadOf } from '../../pipeline/flows/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-inv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const list = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'red' } } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'api-5f7c9d8b6-x2k4q',
        namespace: 'shop',
        labels: { app: 'api', 'pod-template-hash': '5f7c9d8b6' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'api-5f7c9d8b6', controller: true }],
      },
      spec: { containers: [{ name: 'api', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'node-exporter-abcde', namespace: 'shop' },
      spec: { hostNetwork: true, containers: [] },
      status: { podIP: '192.168.1.1' },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'shop', labels: { tier: 'backend' } }, spec: { clusterIP: '10.96.0.10', selector: { app: 'api' } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored', namespace: 'shop' } },
  ],
};

describe('inventory files', () => {
  it('reads kubectl JSON lists', async () => {
    const p = join(dir, 'inv.json');
    await writeFile(p, JSON.stringify(list));
    const inv = await readInventory([p]);
    expect(inv.counts).toEqual({ pods: 2, namespaces: 1, services: 1, nodes: 0 });
    const pod = inv.podByIp('10.1.0.5')!;
    expect(pod.workload).toBe('api');
    expect(pod.labels.find((l) => l.key === 'pod-template-hash')).toBeUndefined();
    expect(pod.labels).toContainEqual({ source: 'k8s', key: 'io.cilium.k8s.policy.serviceaccount', value: 'default' });
    expect(inv.podByIp('192.168.1.1')).toBeUndefined();
    expect(inv.services[0]).toMatchObject({ name: 'api', clusterIPs: ['10.96.0.10'], selector: { app: 'api' } });
  });
  it('reads multi-document YAML', async () => {
    const p = join(dir, 'inv.yaml');
    await writeFile(p, 'kind: Namespace\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nstatus:\n  podIP: 10.2.0.1\n');
    const inv = await readInventory([p]);
    expect(inv.podByName('a', 'p')?.ips).toEqual(['10.2.0.1']);
  });
  it('reports YAML errors with a position and missing files as I/O errors', async () => {
    const p = join(dir, 'bad.yaml');
    await writeFile(p, 'kind: Pod\nmetadata: [\n');
    const err = await readInventory([p]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as InventoryError).pos?.line).toBeGreaterThan(0);
    expect(await readInventory([join(dir, 'nope.json')]).catch((e: unknown) => e)).toBeInstanceOf(FlowIoError);
  });
  it('bounds YAML inventories (a clear error, not an exhausted heap) and refuses alias bombs and hostile nesting', async () => {
    const pod = 'kind: Pod\nmetadata:\n  name: p\n  namespace: a\n---\n';
    const big = join(dir, 'big.yaml');
    await writeFile(big, pod.repeat(Math.ceil((MAX_YAML_INVENTORY_BYTES + 1) / pod.length)));
    const err = await readInventory([big]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'inventory-too-large', pos: { file: big } });
    expect((err as Error).message).toContain('32 MiB');
    // Broken JSON that large is not handed to YAML: JSON's own position.
    const json = join(dir, 'big.json');
    const item = JSON.stringify({ kind: 'Pod', metadata: { name: 'p', namespace: 'a' } });
    await writeFile(json, `{"kind": "List", "items": [\n${`${item},\n`.repeat(Math.ceil(MAX_YAML_INVENTORY_BYTES / item.length))}oops]}\n`);
    const jsonErr = await readInventory([json]).catch((e: unknown) => e);
    expect(jsonErr).toMatchObject({ code: "inventory-parse", pos: { file: json, col: 1 } });
    expect((jsonErr as InventoryError).pos!.line).toBe(readFileSync(json, "utf8").split("\n").length - 1);
    expect((jsonErr as InventoryError).pos!.line).toBeGreaterThan(100_000);
    const aliases = `a: &a [1, 2]\n${Array.from({ length: 200 }, (_, i) => `b${i}: [*a, *a, *a]`).join('\n')}\n`;
    expect(() => parseInventoryText(aliases, 'inv.yaml')).toThrow(InventoryError);
    for (const deep of [`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, `${'['.repeat(100_000)}${']'.repeat(100_000)}`]) {
      const r = (() => {
        try {
          return parseInventoryText(deep, 'deep.yaml');
        } catch (e) {
          return e;
        }
      })();
      if (r instanceof InventoryError) expect(r.code).toBe('inventory-parse');
      else expect(r).toEqual([]);
    }
  });
  it('derives workloads', () => {
    expect(workloadOf('db-0', {}, [{ kind: 'StatefulSet', name: 'db' }])).toBe('db');
    expect(workloadOf('x', { app: 'shop' }, undefined)).toBe('shop');
    expect(workloadOf('x', {}, undefined)).toBe('x');
  });
});
