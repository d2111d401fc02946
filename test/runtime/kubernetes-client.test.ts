/**
 * @kubernetes/client-node on Palisade's runtime: it imports (it cannot on Node 20), loads a kubeconfig and lists
 * pods from a local HTTPS server (a throw-away self-signed certificate for 127.0.0.1, trusted through the
 * kubeconfig's certificate-authority-data) that checks each request's shape, as the agent's Kubernetes discovery will.
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, ApiException } from '@kubernetes/client-node';
import { kubeconfigFor, selfSignedLocalhost } from '../support/fake-kube-apiserver.js';

const TOKEN = 'test-token-7f3a';
let tls: { key: string; cert: string };
const podList = {
  apiVersion: 'v1',
  kind: 'PodList',
  metadata: { resourceVersion: '4711' },
  items: [
    {
      metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' }, resourceVersion: '4700' },
      spec: { nodeName: 'node-a', containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: '10.0.1.5', podIPs: [{ ip: '10.0.1.5' }, { ip: 'fd00::5' }] },
    },
  ],
};

let server: Server;
let url: string;
const seen: { method?: string; path: string; query: URLSearchParams; auth?: string; accept?: string }[] = [];

function answer(req: IncomingMessage): { status: number; body: unknown } {
  const u = new URL(req.url ?? '/', 'http://x');
  seen.push({ method: req.method, path: u.pathname, query: u.searchParams, auth: req.headers.authorization, accept: req.headers.accept });
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 } };
  if (req.method === 'GET' && u.pathname === '/api/v1/pods') {
    if (u.searchParams.get('resourceVersion') === '1') {
      return { status: 410, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', message: 'too old resource version: 1 (4711)', code: 410 } };
    }
    return { status: 200, body: podList };
  }
  return { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 } };
}

beforeAll(async () => {
  tls = selfSignedLocalhost();
  server = createServer(tls, (req, res) => {
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(req);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigFor(url, tls.cert, TOKEN));
  return kc.makeApiClient(CoreV1Api);
}

describe('@kubernetes/client-node on this runtime', () => {
  it('runs on Node.js 24 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('lists this node\'s pods with the kubeconfig\'s server and token', async () => {
    const list = await client().listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' });
    expect(list.metadata?.resourceVersion).toBe('4711');
    expect(list.items.map((p) => [p.metadata?.namespace, p.metadata?.name, p.status?.podIP, p.spec?.containers[0]?.ports?.[0]?.name])).toEqual([
      ['shop', 'web-0', '10.0.1.5', 'http'],
    ]);
    const req = seen.at(-1)!;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/api/v1/pods');
    expect(req.query.get('fieldSelector')).toBe('spec.nodeName=node-a');
    expect(req.auth).toBe(`Bearer ${TOKEN}`);
    expect(req.accept).toContain('application/json');
  });

  it('surfaces 410 Gone (an expired resourceVersion) as an ApiException with its code', async () => {
    const err = await client().listPodForAllNamespaces({ resourceVersion: '1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(410);
  });
});
