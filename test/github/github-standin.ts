/**
 * A local HTTP server standing in for the GitHub REST API. Every request is checked against @octokit/openapi-types
 * (known route, declared query parameters, request body shape with required fields, enums and no unknown fields)
 * and against GitHub's documented limits (50 annotations per request, 65,535-character summary and text, 255-
 * character annotation titles, 65,536-character comment bodies). Anything else is recorded in `violations` and
 * answered 500, so a test that ends with violations fails. It keeps just enough state for check runs, comments and
 * GitHub App installation tokens, and can inject failures (rate limits, 5xx) in front of chosen operations.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { findRoute, queryShape, requestBodyShape, validate } from './openapi-shapes.js';

export interface CheckRunState {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations_count: number };
  annotations: Array<{ path: string; start_line: number; end_line: number; annotation_level: string; message: string; title?: string }>;
  updates: number;
}

export interface CommentState {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  operation: string | undefined;
  status: number;
}

interface Fault {
  operation: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Options of the stand-in. */
export interface StandinOptions {
  /** Tokens accepted as `bearer` credentials. */
  readonly tokens: readonly string[];
  /** The login comments are created as. */
  readonly botLogin?: string;
  /** A GitHub App: JWTs signed by its key are accepted for /app endpoints, minting `installationToken`. */
  readonly app?: { readonly id: string; readonly publicKeyPem: string; readonly installationId: number; readonly installationToken: string };
}

export class GithubStandin {
  readonly checkRuns: CheckRunState[] = [];
  readonly comments: CommentState[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private nextId = 1000;
  private readonly tokens: Set<string>;
  private readonly appKey: KeyObject | undefined;
  url = '';

  constructor(private readonly options: StandinOptions) {
    this.tokens = new Set(options.tokens);
    this.appKey = options.app ? createPublicKey(options.app.publicKeyPem) : undefined;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next request to `operation` gets `status` with `headers` instead of being served. */
  failNext(operation: string, status: number, headers: Record<string, string> = {}, body?: unknown): void {
    this.faults.push({ operation, status, headers, ...(body !== undefined ? { body } : {}) });
  }

  /** A comment written by someone else (to prove it is never taken over). */
  addForeignComment(issue: number, body: string, login: string): void {
    this.comments.push({ id: this.nextId++, issue, body, user: { login, type: 'User' } });
  }

  /** Requests per operation id. */
  count(operation: string): number {
    return this.requests.filter((r) => r.operation === operation).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    const route = findRoute(method, url.pathname);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ method, path: url.pathname, operation: route?.operation, status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const violation = (what: string): void => {
      this.violations.push(`${method} ${url.pathname}: ${what}`);
      send(500, { message: `stand-in: ${what}` });
    };
    if (!route) return violation('no such route in @octokit/openapi-types');
    const op = route.operation;

    // Query parameters must be declared.
    const q = queryShape(op);
    for (const key of url.searchParams.keys()) {
      if (!q || q.k !== 'object' || !q.fields.has(key)) return violation(`query parameter '${key}' is not declared for ${op}`);
    }
    // The body must match the declared shape.
    const shape = requestBodyShape(op);
    let body: Record<string, unknown> = {};
    if (shape) {
      try {
        body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        return violation('body is not JSON');
      }
      const problems = validate(body, shape);
      if (problems.length > 0) return violation(problems.join('; '));
    } else if (raw !== '' && method !== 'GET') {
      return violation(`${op} takes no body`);
    }
    const limit = this.limits(op, body);
    if (limit) return violation(limit);

    // Credentials.
    const auth = req.headers.authorization ?? '';
    const credential = /^(?:bearer|token) (.+)$/i.exec(auth)?.[1] ?? '';
    const appRoute = op === 'apps/create-installation-access-token' || op === 'apps/get-repo-installation' || op === 'apps/get-authenticated';
    if (appRoute ? !this.validJwt(credential) : !this.tokens.has(credential)) return send(401, { message: 'Bad credentials' });

    const faultAt = this.faults.findIndex((f) => f.operation === op);
    if (faultAt >= 0) {
      const [f] = this.faults.splice(faultAt, 1);
      return send(f!.status, f!.body ?? { message: `injected ${f!.status}` }, f!.headers);
    }
    this.serve(op, url, body, send);
  }

  private limits(op: string, body: Record<string, unknown>): string | undefined {
    if (op === 'checks/create' || op === 'checks/update') {
      const output = body.output as { summary?: string; text?: string; annotations?: Array<{ title?: string; message: string }> } | undefined;
      if (output?.annotations && output.annotations.length > 50) return `${output.annotations.length} annotations in one request (GitHub allows 50)`;
      if (output?.summary !== undefined && output.summary.length > 65_535) return `summary of ${output.summary.length} characters (limit 65535)`;
      if (output?.text !== undefined && output.text.length > 65_535) return `text of ${output.text.length} characters (limit 65535)`;
      for (const a of output?.annotations ?? []) {
        if ((a.title ?? '').length > 255) return 'annotation title above 255 characters';
        if (Buffer.byteLength(a.message) > 65_536) return 'annotation message above 64 KB';
      }
      if (body.status === 'completed' && body.conclusion === undefined) return 'status completed without a conclusion';
    }
    if ((op === 'issues/create-comment' || op === 'issues/update-comment') && String(body.body).length > 65_536) return 'comment body above 65536 characters';
    return undefined;
  }

  private validJwt(jwt: string): boolean {
    if (!this.appKey || !this.options.app) return false;
    const [h, p, s] = jwt.split('.');
    if (!h || !p || !s) return false;
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(this.appKey, Buffer.from(s, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss: string; exp: number; iat: number };
    const now = Date.now() / 1000;
    return ok && String(claims.iss) === this.options.app.id && claims.exp > now && claims.iat <= now && claims.exp - claims.iat <= 600;
  }

  private serve(op: string, url: URL, body: Record<string, unknown>, send: (status: number, body: unknown, headers?: Record<string, string>) => void): void {
    const parts = url.pathname.split('/');
    const owner = parts[2]!;
    const repo = parts[3]!;
    const runJson = (r: CheckRunState) => ({
      id: r.id,
      name: r.name,
      head_sha: r.head_sha,
      status: r.status,
      conclusion: r.conclusion,
      output: r.output,
      html_url: `https://github.com/${owner}/${repo}/runs/${r.id}`,
    });
    switch (op) {
      case 'checks/create': {
        const output = (body.output ?? {}) as { title?: string; summary?: string; text?: string; annotations?: CheckRunState['annotations'] };
        const run: CheckRunState = {
          id: this.nextId++,
          name: String(body.name),
          head_sha: String(body.head_sha),
          status: body.conclusion !== undefined ? 'completed' : String(body.status ?? 'queued'),
          conclusion: (body.conclusion as string | undefined) ?? null,
          output: { title: output.title ?? null, summary: output.summary ?? null, text: output.text ?? null, annotations_count: output.annotations?.length ?? 0 },
          annotations: [...(output.annotations ?? [])],
          updates: 0,
        };
        this.checkRuns.push(run);
        return send(201, runJson(run));
      }
      case 'checks/update': {
        const run = this.checkRuns.find((r) => r.id === Number(parts[5]));
        if (!run) return send(404, { message: 'Not Found' });
        const output = body.output as { title?: string; summary?: string; annotations?: CheckRunState['annotations'] } | undefined;
        if (output) {
          run.output.title = output.title ?? run.output.title;
          run.output.summary = output.summary ?? run.output.summary;
          // Annotations are appended, as GitHub does.
          run.annotations.push(...(output.annotations ?? []));
          run.output.annotations_count = run.annotations.length;
        }
        if (body.conclusion !== undefined) {
          run.conclusion = String(body.conclusion);
          run.status = 'completed';
        } else if (body.status !== undefined) run.status = String(body.status);
        run.updates++;
        return send(200, runJson(run));
      }
      case 'checks/list-for-ref': {
        const name = url.searchParams.get('check_name');
        const runs = this.checkRuns.filter((r) => r.head_sha === parts[5] && (!name || r.name === name)).reverse();
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        return send(200, { total_count: runs.length, check_runs: runs.slice(0, perPage).map(runJson) });
      }
      case 'issues/list-comments': {
        const issue = Number(parts[5]);
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = this.comments.filter((c) => c.issue === issue);
        return send(200, all.slice((page - 1) * perPage, page * perPage));
      }
      case 'issues/create-comment': {
        const c: CommentState = { id: this.nextId++, issue: Number(parts[5]), body: String(body.body), user: { login: this.options.botLogin ?? 'github-actions[bot]', type: 'Bot' } };
        this.comments.push(c);
        return send(201, c);
      }
      case 'issues/update-comment': {
        const c = this.comments.find((x) => x.id === Number(parts[6]));
        if (!c) return send(404, { message: 'Not Found' });
        if (c.user.login !== (this.options.botLogin ?? 'github-actions[bot]')) return send(403, { message: 'Resource not accessible by integration' });
        c.body = String(body.body);
        return send(200, c);
      }
      case 'apps/get-authenticated':
        return send(200, { id: Number(this.options.app!.id), slug: 'palisade-test', name: 'Palisade test' });
      case 'apps/get-repo-installation':
        return send(200, { id: this.options.app!.installationId, app_id: Number(this.options.app!.id) });
      case 'apps/create-installation-access-token': {
        if (Number(parts[3]) !== this.options.app!.installationId) return send(404, { message: 'Not Found' });
        this.tokens.add(this.options.app!.installationToken);
        return send(201, { token: this.options.app!.installationToken, expires_at: new Date(Date.now() + 3_600_000).toISOString() });
      }
      default:
        this.violations.push(`${op}: a declared route this stand-in does not serve`);
        return send(500, { message: `stand-in does not serve ${op}` });
    }
  }
}
