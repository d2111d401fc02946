/**
 * Endpoints from the Kubernetes API (the fake API server: real HTTPS, list and watch with resourceVersion,
 * bookmarks, 410 Gone): which pods count, local pods' host interfaces, changes as they happen, resuming a dropped
 * watch without a list, relisting after 410, and a clear error when the API server cannot be reached.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesEndpointSource } from '../../../node-agent/discovery/kubernetes-source.js';
import type { EndpointSet } from '../../../node-agent/discovery/types.js';
import { kubeconfigFor, selfSignedLocalhost, startFakeApiServer, type FakeApiServer } from '../../support/fake-kube-apiserver.js';

let api: FakeApiServer;
const sources: KubernetesEndpointSource[] = [];
const stops: AbortController[] = [];

const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } });
const pod = (namespace: string, name: string, node: string, ips: string[], extra: { labels?: Record<string, string>; hostNetwork?: boolean; phase?: string; ports?: { name?: string; containerPort: number; protocol?: string }[] } = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, labels: extra.labels ?? { app: name.split('-')[0]! } },
  spec: { nodeName: node, hostNetwork: extra.hostNetwork ?? false, containers: [{ name: 'c', image: 'x', ...(extra.ports ? { ports: extra.ports } : {}) }] },
  status: { phase: extra.phase ?? 'Running', ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}) },
});

const interfaces: Record<string, string> = { '10.0.1.5': 'lxc-web0', '10.0.1.9': 'lxc-api0' };

function source(): KubernetesEndpointSource {
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  const s = new KubernetesEndpointSource({ kubeConfig: kc, nodeName: 'node-a', hostInterfaceOf: async (ip) => interfaces[ip], settleMs: 20 });
  sources.push(s);
  return s;
}

/** Follows a source's changes into `latest`. */
function follow(s: KubernetesEndpointSource): { latest: () => EndpointSet | undefined; errors: unknown[] } {
  let latest: EndpointSet | undefined;
  const errors: unknown[] = [];
  const stop = new AbortController();
  stops.push(stop);
  void (async () => {
    for await (const set of s.changes(stop.signal, (e) => errors.push(e))) latest = set;
  })();
  return { latest: () => latest, errors };
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const names = (set: EndpointSet | undefined): string[] => (set?.pods ?? []).map((p) => `${p.namespace}/${p.name}${p.interface ? `@${p.interface}` : ''}`);

beforeAll(async () => {
  api = await startFakeApiServer();
  api.put('namespaces', ns('shop', { team: 'web' }));
  api.put('namespaces', ns('data'));
  api.put('pods', pod('shop', 'web-0', 'node-a', ['10.0.1.5', 'fd00::5']));
  api.put('pods', pod('data', 'db-0', 'node-b', ['10.0.2.7'], { ports: [{ name: 'postgres', containerPort: 5432 }, { containerPort: 9090 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }));
  api.put('pods', pod('kube-system', 'proxy-a', 'node-a', ['192.168.0.10'], { hostNetwork: true }));
  api.put('pods', pod('shop', 'job-1', 'node-a', ['10.0.1.77'], { phase: 'Succeeded' }));
  api.put('pods', pod('shop', 'pending-0', 'node-a', []));
});
afterEach(() => stops.splice(0).forEach((s) => s.abort()));
afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  expect(api.unexpected).toEqual([]);
  await api.close();
});

describe('KubernetesEndpointSource', () => {
  it('lists running pods with IPs, namespace labels, and host interfaces for this node\'s pods only', async () => {
    const set = await source().read();
    expect(set.pods).toEqual([
      // Named container ports come along (a NetworkPolicy may name them); unnamed ones cannot be referred to.
      { namespace: 'data', name: 'db-0', labels: { app: 'db' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'data' }, ips: ['10.0.2.7'], namedPorts: [{ name: 'postgres', port: 5432, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] },
      { namespace: 'shop', name: 'web-0', labels: { app: 'web' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'shop', team: 'web' }, ips: ['10.0.1.5', 'fd00::5'], interface: 'lxc-web0' },
    ]);
  });

  it('reports additions, relabels, namespace label changes and deletions as they happen', async () => {
    const s = source();
    await s.read();
    const f = follow(s);
    api.put('pods', pod('shop', 'api-0', 'node-a', ['10.0.1.9']));
    await until('api-0 appears', () => names(f.latest()).includes('shop/api-0@lxc-api0'));
    api.put('pods', pod('shop', 'api-0', 'node-a', ['10.0.1.9'], { labels: { app: 'api', tier: 'backend' } }));
    await until('api-0 relabelled', () => f.latest()?.pods.find((p) => p.name === 'api-0')?.labels.tier === 'backend');
    api.put('namespaces', ns('shop', { team: 'payments' }));
    await until('namespace relabelled', () => f.latest()?.pods.find((p) => p.name === 'web-0')?.namespaceLabels.team === 'payments');
    api.remove('pods', 'shop', 'api-0');
    await until('api-0 gone', () => !names(f.latest()).some((n) => n.startsWith('shop/api-0')));
    expect(f.errors).toEqual([]);
  });

  it('a dropped watch resumes from the last resourceVersion without listing again', async () => {
    const s = source();
    await s.read();
    const f = follow(s);
    const lists = api.served.filter((r) => r === 'list pods').length;
    api.dropWatches();
    const rv = Number(api.put('pods', pod('data', 'cache-0', 'node-b', ['10.0.2.8'])));
    await until('cache-0 seen after the reconnect', () => names(f.latest()).includes('data/cache-0'));
    expect(api.served.filter((r) => r === 'list pods').length).toBe(lists);
    const resumed = api.served.filter((r) => r.startsWith('watch pods from ')).map((r) => Number(r.split(' ').at(-1)));
    expect(resumed.at(-1)).toBeGreaterThan(1000);
    expect(resumed.at(-1)).toBeLessThan(rv);
  });

  it('after 410 Gone it lists anew, and what changed while it was away is right', async () => {
    const s = source();
    await s.read();
    const f = follow(s);
    const lists = api.served.filter((r) => r === 'list pods').length;
    api.dropWatches();
    api.remove('pods', 'data', 'db-0');
    api.compact();
    await until('db-0 gone after a relist', () => f.latest() !== undefined && !names(f.latest()).includes('data/db-0'));
    expect(api.served.filter((r) => r === 'list pods').length).toBeGreaterThan(lists);
  });

  it('an unreachable API server is a clear error', async () => {
    const tls = selfSignedLocalhost();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigFor(`https://127.0.0.1:${port}`, tls.cert));
    const s = new KubernetesEndpointSource({ kubeConfig: kc, nodeName: 'node-a' });
    sources.push(s);
    await expect(s.read()).rejects.toMatchObject({ code: 'endpoints-api-unavailable', message: expect.stringMatching(/^kubernetes https:\/\/127\.0\.0\.1:\d+ \(node node-a\): cannot list pods and namespaces: .*ECONNREFUSED/) });
  });
});
