/**
 * A local HTTPS server speaking the few Kubernetes API calls Palisade uses, with the API server's concurrency rules:
 * every write bumps a cluster-wide resourceVersion; create of an existing name is 409 AlreadyExists; a replace whose
 * metadata.resourceVersion is not the stored one is 409 Conflict. Pods and namespaces can be listed and watched as
 * the API server does it: a watch from resourceVersion N replays the events after N and then streams new ones, with
 * BOOKMARK events when asked for (`allowWatchBookmarks`), and a watch from a version older than the retained history
 * (see `compact`) gets an ERROR event with Status 410 Gone. Anything else it does not implement is answered 404 and
 * recorded in `unexpected`, which tests assert empty. TLS uses a throw-away self-signed certificate for 127.0.0.1
 * (openssl), trusted through the kubeconfig's certificate-authority-data.
 *
 * Palisade's custom resources (PolicyRollout, PolicyNode of palisade.dev/v1alpha1, namespaced) are served as a CRD
 * with a status subresource: get, list, create (409 AlreadyExists), and JSON or merge patch of the object or of
 * its `/status` (a patch carrying a `metadata.resourceVersion` that is not the stored one is 409 Conflict; a patch
 * of the object leaves its status alone and one of `/status` its spec; create drops the status; a spec change
 * bumps `metadata.generation`). When CRD documents are given, every object written is checked against its
 * openAPIV3Schema with ajv and unknown fields are refused (422 Invalid), as strict field validation does.
 *
 * Every request is recorded in `calls` as an RBAC verb on a resource, with the caller: tokens
 * `fake-apiserver-token` and `fake-apiserver-token-<who>` are accepted, so tests can tell processes apart and check
 * the RBAC manifests against what each one called. `failNext` makes the next requests matching a pattern answer an
 * error (a conflict, a 500) before they touch anything, to test retries.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number; [k: string]: unknown }; [k: string]: unknown };

/** One request as RBAC sees it. */
export interface ApiCall {
  /** The token's suffix (`fake-apiserver-token-<who>`), or '' for the plain token. */
  readonly who: string;
  /** get, list, watch, create, update, patch. */
  readonly verb: string;
  /** `group/resource[/subresource]`, core group as '' (e.g. `/pods`, `palisade.dev/policynodes/status`). */
  readonly resource: string;
  readonly namespace: string;
  /** The object named in the path, if any (what RBAC resourceNames match). */
  readonly name?: string;
}

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
  /** Creates or updates a pod, namespace or node (cluster-scoped: namespace ''), as a controller would; returns its resourceVersion. */
  put(resource: Watched, obj: Obj): string;
  /** Deletes a pod or namespace. */
  remove(resource: Watched, namespace: string, name: string): void;
  /** Forgets the event history up to now, so that a watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** Ends every open watch stream (as an API server restart or a proxy timeout does). */
  dropWatches(): void;
  /** Every authenticated request, in order. */
  readonly calls: ApiCall[];
  /**
   * Answers the next `count` requests whose `METHOD path` matches `pattern` with HTTP `code`, touching nothing; or,
   * with `hang`, never answers them.
   */
  failNext(pattern: RegExp, count: number, code: 409 | 500 | 503 | 'hang'): void;
  /** How many injected failures have not been answered yet. */
  faultsLeft(): number;
  close(): Promise<void>;
}

/** The watchable resources. */
export type Watched = 'pods' | 'namespaces' | 'nodes';

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
const LIST_KIND: Record<Watched, string> = { pods: 'PodList', namespaces: 'NamespaceList', nodes: 'NodeList' };
const BOOKMARK_KIND: Record<Watched, string> = { pods: 'Pod', namespaces: 'Namespace', nodes: 'Node' };

const LEASES = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/leases(?:\/([a-z0-9.-]+))?$/;

const CUSTOM = /^\/apis\/palisade\.dev\/v1alpha1\/namespaces\/([a-z0-9-]+)\/(policyrollouts|policynodes)(?:\/([a-z0-9.-]+)(\/status)?)?$/;
const CUSTOM_KIND: Record<string, string> = { policyrollouts: 'PolicyRollout', policynodes: 'PolicyNode' };

/** A CustomResourceDefinition document, as far as the fake reads it. */
export interface CrdDocument {
  readonly spec: { readonly group: string; readonly names: { readonly plural: string }; readonly versions: readonly { readonly name: string; readonly schema: { readonly openAPIV3Schema: object } }[] };
}

/** Starts the fake API server on 127.0.0.1; `crds`: the CRDs whose schemas written custom objects must satisfy. */
export async function startFakeApiServer(options: { crds?: readonly CrdDocument[] } = {}): Promise<FakeApiServer> {
  const schemas = compileCrdSchemas(options.crds ?? []);
  const calls: ApiCall[] = [];
  const faults: { pattern: RegExp; count: number; code: number | 'hang' }[] = [];
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
    const who = /^Bearer fake-apiserver-token(?:-([a-z0-9-]+))?$/.exec(req.headers.authorization ?? '');
    if (!who) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const url = new URL(req.url ?? '/', 'https://x');
    calls.push({ who: who[1] ?? '', ...rbacOf(req.method ?? 'GET', url) });
    const fault = faults.find((f) => f.count > 0 && f.pattern.test(`${req.method} ${url.pathname}`));
    if (fault) {
      fault.count--;
      if (fault.code === 'hang') return;
      return status(res, fault.code, fault.code === 409 ? 'Conflict' : 'InternalError', fault.code === 409 ? 'the object has been modified; please apply your changes to the latest version and try again' : 'injected failure');
    }
    const node = /^\/api\/v1\/nodes\/([a-z0-9.-]+)$/.exec(url.pathname);
    if (node && req.method === 'GET') {
      const obj = objects.get(`nodes//${node[1]}`);
      return obj ? send(res, 200, obj) : status(res, 404, 'NotFound', `nodes "${node[1]}" not found`);
    }
    const custom = CUSTOM.exec(url.pathname);
    if (custom) return handleCustom(req, body, res, custom);
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

  /** PolicyRollout and PolicyNode objects: a CRD with a status subresource, as the API server serves it. */
  function handleCustom(req: IncomingMessage, body: string, res: ServerResponse, m: RegExpExecArray): void {
    const [, ns, plural, name, sub] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const kind = CUSTOM_KIND[plural]!;
    const key = `${plural}/${ns}/${name}`;
    const notFound = (): void => status(res, 404, 'NotFound', `${plural}.palisade.dev "${name}" not found`);
    if (req.method === 'GET' && name && !sub) {
      const obj = objects.get(key);
      return obj ? send(res, 200, obj) : notFound();
    }
    if (req.method === 'GET' && !name) {
      served.push(`list ${plural}`);
      const items = [...objects].filter(([k]) => k.startsWith(`${plural}/${ns}/`)).map(([, o]) => o);
      return send(res, 200, { apiVersion: 'palisade.dev/v1alpha1', kind: `${kind}List`, metadata: { resourceVersion: String(resourceVersion) }, items });
    }
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      return status(res, 400, 'BadRequest', 'body is not JSON');
    }
    if (req.method === 'POST' && !name) {
      const obj = input as Obj;
      if (obj.kind !== kind || obj.apiVersion !== 'palisade.dev/v1alpha1' || typeof obj.metadata?.name !== 'string') return status(res, 400, 'BadRequest', `not a palisade.dev/v1alpha1 ${kind}`);
      const k = `${plural}/${ns}/${obj.metadata.name}`;
      if (objects.has(k)) return status(res, 409, 'AlreadyExists', `${plural}.palisade.dev "${obj.metadata.name}" already exists`);
      // The status subresource: create ignores .status.
      const { status: _dropped, ...rest } = obj;
      const stored: Obj = { ...rest, metadata: { ...obj.metadata, namespace: ns, generation: 1, resourceVersion: String(resourceVersion + 1) } };
      const invalid = validate(plural, stored);
      if (invalid) return status(res, 422, 'Invalid', `${kind}.palisade.dev "${obj.metadata.name}" is invalid: ${invalid}`);
      resourceVersion++;
      objects.set(k, stored);
      return send(res, 201, stored);
    }
    if (req.method === 'PATCH' && name) {
      const current = objects.get(key);
      if (!current) return notFound();
      let patched: Obj;
      try {
        patched = applyPatch(current, input, req.headers['content-type'] ?? '');
      } catch (err) {
        return status(res, 422, 'Invalid', (err as Error).message);
      }
      const rv = patched.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata!.resourceVersion) {
        return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${plural}.palisade.dev "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      // Through the object only the spec (and metadata) change; through /status only the status.
      const next: Obj = sub ? { ...current, status: patched.status } : { ...patched, status: current.status };
      if (next.status === undefined) delete next.status;
      const specChanged = JSON.stringify(next.spec) !== JSON.stringify(current.spec);
      next.metadata = { ...current.metadata, generation: (current.metadata!.generation ?? 1) + (specChanged ? 1 : 0), resourceVersion: String(resourceVersion + 1) };
      const invalid = validate(plural, next);
      if (invalid) return status(res, 422, 'Invalid', `${kind}.palisade.dev "${name}" is invalid: ${invalid}`);
      resourceVersion++;
      objects.set(key, next);
      return send(res, 200, next);
    }
    unexpected.push(`${req.method} ${req.url}`);
    status(res, 405, 'MethodNotAllowed', 'the fake API server does not implement this call');
  }

  const validate = (plural: string, obj: Obj): string | undefined => {
    const check = schemas.get(plural);
    if (!check) return undefined;
    const unknown = unknownFields(obj, check.schema as Schema, '');
    if (unknown) return `unknown field "${unknown}"`;
    if (check(obj)) return undefined;
    return (check.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message}`).join('; ');
  };

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
    calls,
    failNext(pattern, count, code) {
      faults.push({ pattern, count, code });
    },
    faultsLeft: () => faults.reduce((n, f) => n + f.count, 0),
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

/** A kubeconfig for the same server naming the caller `who` (its token is `fake-apiserver-token-<who>`). */
export function kubeconfigAs(api: FakeApiServer, who: string): string {
  return api.kubeconfig.replace(`token: ${FAKE_TOKEN}`, `token: ${FAKE_TOKEN}-${who}`);
}

/** The RBAC verb and resource of a request. */
function rbacOf(method: string, url: URL): Omit<ApiCall, 'who'> {
  const core = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(url.pathname);
  const named = /^\/apis\/([^/]+)\/[^/]+\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(url.pathname);
  const [group, namespace, resource, name, sub] = core ? ['', core[1], core[2], core[3], core[4]] : named ? [named[1], named[2], named[3], named[4], named[5]] : ['?', '', url.pathname, undefined, undefined];
  // GET /api/v1/namespaces lists namespaces; GET /api/v1/namespaces/x gets one.
  const verb = method === 'GET' ? (name === undefined ? (url.searchParams.get('watch') === 'true' ? 'watch' : 'list') : 'get') : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? method;
  return { verb, resource: `${group}/${resource}${sub ? `/${sub}` : ''}`, namespace: namespace ?? '', ...(name === undefined ? {} : { name }) };
}

type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: Schema | boolean; items?: Schema; 'x-kubernetes-preserve-unknown-fields'?: boolean };

/** The openAPIV3Schema of each CRD's served version, compiled with ajv (Kubernetes' x- keywords are not checked). */
function compileCrdSchemas(crds: readonly CrdDocument[]): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return new Map(crds.map((c) => [c.spec.names.plural, ajv.compile(c.spec.versions[0]!.schema.openAPIV3Schema)]));
}

/** The first field of `v` that the schema neither declares nor preserves (the API server would prune it). */
function unknownFields(v: unknown, schema: Schema, path: string): string | undefined {
  if (schema['x-kubernetes-preserve-unknown-fields'] || v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const u = schema.items ? unknownFields(x, schema.items, `${path}[${i}]`) : undefined;
      if (u) return u;
    }
    return undefined;
  }
  for (const [k, x] of Object.entries(v)) {
    // apiVersion, kind and metadata are the API server's own.
    if (path === '' && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (!sub) return `${path}${path ? '.' : ''}${k}`;
    const u = unknownFields(x, sub, `${path}${path ? '.' : ''}${k}`);
    if (u) return u;
  }
  return undefined;
}

/** `obj` after a JSON patch (RFC 6902: add, replace, remove, test on object members) or a JSON merge patch (RFC 7386). */
function applyPatch(obj: Obj, patch: unknown, contentType: string): Obj {
  const copy = structuredClone(obj) as Record<string, unknown>;
  if (contentType.startsWith('application/merge-patch+json')) return mergePatch(copy, patch) as Obj;
  if (!contentType.startsWith('application/json-patch+json')) throw new Error(`unsupported patch type ${contentType}`);
  if (!Array.isArray(patch)) throw new Error('a JSON patch is an array of operations');
  for (const op of patch as { op?: string; path?: string; value?: unknown }[]) {
    const keys = (op.path ?? '').split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`bad path ${op.path}`);
    let parent: Record<string, unknown> = copy;
    for (const k of keys) {
      const next = parent[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new Error(`path ${op.path} does not exist`);
      parent = next as Record<string, unknown>;
    }
    if (op.op === 'add') parent[last] = op.value;
    else if (op.op === 'replace' || op.op === 'remove') {
      if (!(last in parent)) throw new Error(`path ${op.path} does not exist`);
      if (op.op === 'replace') parent[last] = op.value;
      else delete parent[last];
    } else if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new Error(`test of ${op.path} failed`);
    } else throw new Error(`unsupported JSON patch operation ${op.op}`);
  }
  return copy as Obj;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
