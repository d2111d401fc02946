/**
 * A local HTTPS server speaking the few Kubernetes API calls Palisade uses, with the API server's concurrency rules:
 * every write bumps a cluster-wide resourceVersion; create of an existing name is 409 AlreadyExists; a replace whose
 * metadata.resourceVersion is not the stored one is 409 Conflict. Pods and namespaces can be listed and watched as
 * the API server does it: a watch from resourceVersion N replays the events after N and then streams new ones, with
 * BOOKMARK events when asked for (`allowWatchBookmarks`), and a watch from a version older than the retained history
 * (see `compact`) gets an ERROR event with Status 410 Gone. Anything else it does not implement is answered 404 and
 * recorded in `unexpected`, which tests assert empty. TLS uses a throw-away self-signed certificate for 127.0.0.1
 * (openssl), trusted through the kubeconfig's certificate-authority-data.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

/** A running fake API server. */
export interface FakeApiServer {
  readonly url: string;
  /** A kubeconfig (YAML) for this server with a bearer token. */
  readonly kubeconfig: string;
  /** Requests it did not recognise, as `METHOD path`. */
  readonly unexpected: string[];
  /** Stored objects by `resource/namespace/name` (e.g. `leases/palisade/rollout-controller`, `namespaces//shop`). */
  readonly objects: Map<string, Obj>;
  /** Served list and watch requests, as `list pods` / `watch pods from 1004`, in order. */
  readonly served: string[];
  /** Creates or updates a pod or namespace (cluster-scoped: namespace ''), as a controller would; returns its resourceVersion. */
  put(resource: Watched, obj: Obj): string;
  /** Deletes a pod or namespace. */
  remove(resource: Watched, namespace: string, name: string): void;
  /** Forgets the event history up to now, so that a watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** Ends every open watch stream (as an API server restart or a proxy timeout does). */
  dropWatches(): void;
  close(): Promise<void>;
}

/** The watchable resources. */
export type Watched = 'pods' | 'namespaces';

export const FAKE_TOKEN = 'fake-apiserver-token';

/** A self-signed certificate for 127.0.0.1 made with openssl: PEM key and certificate. */
export function selfSignedLocalhost(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pld-k8s-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubeconfig for `url` trusting `certPem`, authenticating with `token`. */
export function kubeconfigFor(url: string, certPem: string, token = FAKE_TOKEN): string {
  const ca = Buffer.from(certPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: local, cluster: {server: "${url}", certificate-authority-data: ${ca}}}]`,
    `users: [{name: palisade, user: {token: ${token}}}]`,
    'contexts: [{name: local, context: {cluster: local, user: palisade}}]',
    'current-context: local',
  ].join('\n');
}

const LISTS: Record<string, Watched> = { '/api/v1/pods': 'pods', '/api/v1/namespaces': 'namespaces' };
const LIST_KIND: Record<Watched, string> = { pods: 'PodList', namespaces: 'NamespaceList' };
const BOOKMARK_KIND: Record<Watched, string> = { pods: 'Pod', namespaces: 'Namespace' };

const LEASES = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/leases(?:\/([a-z0-9.-]+))?$/;

/** Starts the fake API server on 127.0.0.1. */
export async function startFakeApiServer(): Promise<FakeApiServer> {
  const tls = selfSignedLocalhost();
  const objects = new Map<string, Obj>();
  const unexpected: string[] = [];
  let resourceVersion = 1000;
  const served: string[] = [];
  type Event = { rv: number; resource: Watched; line: string };
  let history: Event[] = [];
  let compactedAt = 0;
  const watchers = new Set<{ resource: Watched; res: ServerResponse }>();

  const record = (resource: Watched, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Obj): void => {
    const ev = { rv: resourceVersion, resource, line: `${JSON.stringify({ type, object: obj })}\n` };
    history.push(ev);
    for (const w of watchers) if (w.resource === resource) w.res.write(ev.line);
  };
  const keyOf = (resource: Watched, ns: string, name: string): string => `${resource}/${ns}/${name}`;

  function listOrWatch(resource: Watched, url: URL, res: ServerResponse): void {
    if (url.searchParams.get('watch') !== 'true') {
      served.push(`list ${resource}`);
      const items = [...objects].filter(([k]) => k.startsWith(`${resource}/`)).map(([, o]) => o);
      return send(res, 200, { kind: LIST_KIND[resource], apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items });
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    served.push(`watch ${resource} from ${from}`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < compactedAt) {
      const gone = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', message: `too old resource version: ${from} (${compactedAt})`, code: 410 };
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    for (const ev of history) if (ev.resource === resource && ev.rv > from) res.write(ev.line);
    const watcher = { resource, res };
    watchers.add(watcher);
    const bookmarks =
      url.searchParams.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: BOOKMARK_KIND[resource], apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) } } })}\n`), 200)
        : undefined;
    res.on('close', () => {
      clearInterval(bookmarks);
      watchers.delete(watcher);
    });
  }

  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
  };
  const send = (res: ServerResponse, code: number, obj: Obj): void => {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
  };

  function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    if (req.headers.authorization !== `Bearer ${FAKE_TOKEN}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://x');
    const watched = LISTS[url.pathname];
    if (watched && req.method === 'GET') return listOrWatch(watched, url, res);
    const m = LEASES.exec(url.pathname);
    if (m) {
      const [, ns, name] = m;
      if (req.method === 'GET' && name) {
        const obj = objects.get(`leases/${ns}/${name}`);
        return obj ? send(res, 200, obj) : status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      }
      let obj: Obj;
      try {
        obj = JSON.parse(body) as Obj;
      } catch {
        return status(res, 400, 'BadRequest', 'body is not JSON');
      }
      if (obj.kind !== 'Lease' || obj.apiVersion !== 'coordination.k8s.io/v1' || typeof obj.metadata?.name !== 'string') return status(res, 400, 'BadRequest', 'not a coordination.k8s.io/v1 Lease');
      if (req.method === 'POST' && !name) {
        const key = `leases/${ns}/${obj.metadata.name}`;
        if (objects.has(key)) return status(res, 409, 'AlreadyExists', `leases.coordination.k8s.io "${obj.metadata.name}" already exists`);
        const stored = { ...obj, metadata: { ...obj.metadata, namespace: ns, resourceVersion: String(++resourceVersion) } };
        objects.set(key, stored);
        return send(res, 201, stored);
      }
      if (req.method === 'PUT' && name && obj.metadata.name === name) {
        const key = `leases/${ns}/${name}`;
        const current = objects.get(key);
        if (!current) return status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        if (obj.metadata.resourceVersion !== current.metadata!.resourceVersion) {
          return status(res, 409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        const stored = { ...obj, metadata: { ...obj.metadata, namespace: ns, resourceVersion: String(++resourceVersion) } };
        objects.set(key, stored);
        return send(res, 200, stored);
      }
    }
    unexpected.push(`${req.method} ${url.pathname}`);
    status(res, 404, 'NotFound', 'the fake API server does not implement this call');
  }

  const server: Server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeconfig: kubeconfigFor(url, tls.cert),
    unexpected,
    objects,
    served,
    put(resource, obj) {
      const ns = obj.metadata?.namespace ?? '';
      const key = keyOf(resource, ns, obj.metadata!.name!);
      const type = objects.has(key) ? 'MODIFIED' : 'ADDED';
      const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++resourceVersion) } };
      objects.set(key, stored);
      record(resource, type, stored);
      return stored.metadata.resourceVersion;
    },
    remove(resource, namespace, name) {
      const key = keyOf(resource, namespace, name);
      const obj = objects.get(key);
      if (!obj) return;
      objects.delete(key);
      resourceVersion++;
      record(resource, 'DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(resourceVersion) } });
    },
    compact() {
      history = [];
      compactedAt = resourceVersion;
    },
    dropWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const w of watchers) w.res.end();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
