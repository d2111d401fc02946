/**
 * A minimal stand-in for the GitHub REST API for benchmarks: answers the check-run and comment calls Palisade makes
 * with just enough JSON, counts requests, and tells when a check run got its conclusion (the "final check update").
 * The tests' stand-in (test/github) validates requests against @octokit/openapi-types; this one only counts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A counting fake GitHub. */
export interface GithubCounter {
  readonly url: string;
  /** Requests so far, by `METHOD path-shape`. */
  readonly requests: string[];
  /** Resolves at the next request that completes a check run (a conclusion in its body). */
  nextConclusion(): Promise<{ at: number; conclusion: string }>;
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1. */
export async function startGithubCounter(): Promise<GithubCounter> {
  const requests: string[] = [];
  let waiter: ((v: { at: number; conclusion: string }) => void) | undefined;
  let id = 1;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push(`${req.method} ${path.replace(/\/\d+(?=\/|$)/g, '/N').replace(/[0-9a-f]{40}/g, 'SHA')}`);
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as { conclusion?: string }) : {};
      const json = (status: number, v: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (body.conclusion && waiter) {
        const w = waiter;
        waiter = undefined;
        w({ at: performance.now(), conclusion: body.conclusion });
      }
      if (req.method === 'GET' && path.endsWith('/check-runs')) return json(200, { total_count: 0, check_runs: [] });
      if (req.method === 'GET' && path.endsWith('/comments')) return json(200, []);
      if (req.method === 'POST') return json(201, { id: id++ });
      return json(200, { id: id++ });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    nextConclusion: () => new Promise((r) => (waiter = r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
