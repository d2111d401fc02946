/**
 * A local stand-in for the part of the GitHub REST API a pull request check uses, so the demo runs with no GitHub
 * account: check runs (list for a ref, create, update with annotations) and issue comments (list, create, update).
 * It keeps what it received, as GitHub would show it, for the demo to print; any other request is answered 404 and
 * counted in `unexpected`, so a change in what the check calls shows up in the demo's results.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInAnnotation {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly annotation_level: string;
  readonly message: string;
  readonly title?: string;
}

export interface StandInCheckRun {
  readonly id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  title: string | null;
  summary: string | null;
  annotations: StandInAnnotation[];
  /** Requests that changed it (the create and each update). */
  writes: number;
}

export interface StandInComment {
  readonly id: number;
  readonly issue: number;
  body: string;
  /** Requests that changed it (the create and each update). */
  writes: number;
}

const MAX_BODY = 2 * 1024 * 1024;

type Json = Record<string, unknown>;

export class GithubStandIn {
  readonly checkRuns: StandInCheckRun[] = [];
  readonly comments: StandInComment[] = [];
  readonly unexpected: string[] = [];
  #server: Server | undefined;
  #nextId = 1;

  constructor(
    private readonly repository: string,
    private readonly botLogin: string,
  ) {}

  /** Listens on 127.0.0.1; @returns the API base URL (for GITHUB_API_URL). */
  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise((r) => s.close(r));
  }

  /** The latest check run for a commit, if any. */
  checkRunFor(sha: string): StandInCheckRun | undefined {
    return this.checkRuns.filter((c) => c.head_sha === sha).at(-1);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) return this.#send(res, 413, { message: 'body too large' });
      chunks.push(c);
    }
    let body: Json = {};
    try {
      if (size > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
    } catch {
      return this.#send(res, 400, { message: 'Problems parsing JSON' });
    }
    const repo = `/repos/${this.repository}`;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = new RegExp(`^${repo}/commits/([^/]+)/check-runs$`).exec(path))) {
      const runs = this.checkRuns.filter((c) => c.head_sha === m![1] && (!url.searchParams.get('check_name') || c.name === url.searchParams.get('check_name'))).reverse();
      return this.#send(res, 200, { total_count: runs.length, check_runs: runs.map(checkRunJson) });
    }
    if (method === 'POST' && path === `${repo}/check-runs`) {
      const run: StandInCheckRun = { id: this.#nextId++, name: String(body.name), head_sha: String(body.head_sha), status: String(body.status ?? 'queued'), conclusion: null, title: null, summary: null, annotations: [], writes: 0 };
      this.checkRuns.push(run);
      applyCheckRun(run, body);
      return this.#send(res, 201, checkRunJson(run));
    }
    if (method === 'PATCH' && (m = new RegExp(`^${repo}/check-runs/(\\d+)$`).exec(path))) {
      const run = this.checkRuns.find((c) => c.id === Number(m![1]));
      if (!run) return this.#send(res, 404, { message: 'Not Found' });
      applyCheckRun(run, body);
      return this.#send(res, 200, checkRunJson(run));
    }
    if (method === 'GET' && (m = new RegExp(`^${repo}/issues/(\\d+)/comments$`).exec(path))) {
      const page = Number(url.searchParams.get('page') ?? '1');
      const perPage = Number(url.searchParams.get('per_page') ?? '30');
      const all = this.comments.filter((c) => c.issue === Number(m![1]));
      return this.#send(res, 200, all.slice((page - 1) * perPage, page * perPage).map((c) => this.#commentJson(c)));
    }
    if (method === 'POST' && (m = new RegExp(`^${repo}/issues/(\\d+)/comments$`).exec(path))) {
      const c: StandInComment = { id: this.#nextId++, issue: Number(m[1]), body: String(body.body ?? ''), writes: 1 };
      this.comments.push(c);
      return this.#send(res, 201, this.#commentJson(c));
    }
    if (method === 'PATCH' && (m = new RegExp(`^${repo}/issues/comments/(\\d+)$`).exec(path))) {
      const c = this.comments.find((x) => x.id === Number(m![1]));
      if (!c) return this.#send(res, 404, { message: 'Not Found' });
      c.body = String(body.body ?? c.body);
      c.writes++;
      return this.#send(res, 200, this.#commentJson(c));
    }
    this.unexpected.push(`${method} ${path}`);
    return this.#send(res, 404, { message: 'Not Found (the demo stand-in does not implement this request)' });
  }

  #commentJson(c: StandInComment): Json {
    return { id: c.id, body: c.body, user: { login: this.botLogin, type: 'Bot' }, html_url: `https://github.com/${this.repository}/pull/${c.issue}#issuecomment-${c.id}` };
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }
}

function applyCheckRun(run: StandInCheckRun, body: Json): void {
  run.writes++;
  if (typeof body.status === 'string') run.status = body.status;
  if (typeof body.conclusion === 'string') {
    run.conclusion = body.conclusion;
    run.status = 'completed';
  }
  const output = body.output as Json | undefined;
  if (output) {
    if (typeof output.title === 'string') run.title = output.title;
    if (typeof output.summary === 'string') run.summary = output.summary;
    if (Array.isArray(output.annotations)) run.annotations.push(...(output.annotations as StandInAnnotation[]));
  }
}

function checkRunJson(run: StandInCheckRun): Json {
  return {
    id: run.id,
    name: run.name,
    head_sha: run.head_sha,
    status: run.status,
    conclusion: run.conclusion,
    output: { title: run.title, summary: run.summary, annotations_count: run.annotations.length },
  };
}
