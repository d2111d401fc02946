/**
 * The demo's live traffic: a workload process in every pod (servers on its ports, a client for each of its
 * connections), their attempts counted per connection, and from those counts each node's health as its agent's bake
 * check sees it (`GET /health/<node>`: 200 unless a connection the application needs from that node's pods failed
 * its last two attempts, else 503 naming those). One failed attempt is not enough: a connection caught by a switch
 * of policy generations while in flight, or a slow machine, can fail once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LabConnection, LabPlan } from './lab-plan.js';
import type { LabNetwork } from './lab-network.js';
import type { ProcessGroup } from './processes.js';

/** Counts of one connection's attempts. */
export interface AttemptCounts {
  ok: number;
  failed: number;
}

const POD_MAIN = fileURLToPath(new URL('./pod-main.js', import.meta.url));

/** Attempts per connection, and from them each node's health. */
export class AttemptMeter {
  readonly #counts = new Map<string, AttemptCounts>();
  /** Connection id → failed attempts in a row (0 after a success). */
  readonly #failedInARow = new Map<string, number>();
  #health: Server | undefined;

  constructor(protected readonly plan: LabPlan) {
    for (const c of plan.connections) this.#counts.set(c.id, { ok: 0, failed: 0 });
  }

  /** Counts one attempt of the connection at `index` of the plan. */
  record(index: number, ok: boolean): void {
    const c = this.plan.connections[index];
    if (!c) return;
    const counts = this.#counts.get(c.id)!;
    if (ok) counts.ok++;
    else counts.failed++;
    this.#failedInARow.set(c.id, ok ? 0 : (this.#failedInARow.get(c.id) ?? 0) + 1);
  }

  /** null when `node` is healthy, else why not (its bake health check). */
  async health(node: string): Promise<string | null> {
    const failing = this.failing(node);
    return failing.length === 0 ? null : `failing: ${failing.map((c) => c.id).join(', ')}`;
  }


  /** A copy of the counts so far, per connection id (subtract two to get a window's). */
  snapshot(): Map<string, AttemptCounts> {
    return new Map([...this.#counts].map(([k, v]) => [k, { ...v }]));
  }

  /** The application's connections from `node`'s pods that failed their last two attempts. */
  failing(node: string): LabConnection[] {
    const pods = new Set(this.plan.pods.filter((p) => p.node === node).map((p) => p.id));
    return this.plan.connections.filter((c) => c.critical && pods.has(c.from) && (this.#failedInARow.get(c.id) ?? 0) >= 2);
  }

  /** Serves `/health/<node>` on 127.0.0.1; @returns its base URL. */
  async serveHealth(): Promise<string> {
    this.#health = createServer((req, res) => {
      const node = /^\/health\/([\w.-]+)$/.exec(req.url ?? '')?.[1];
      if (!node || !this.plan.nodes.some((n) => n.name === node)) {
        res.writeHead(404).end();
        return;
      }
      const failing = this.failing(node);
      res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(failing.length === 0 ? 'ok\n' : `failing: ${failing.map((c) => c.id).join(', ')}\n`);
    });
    await new Promise<void>((r) => this.#health!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#health.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const h = this.#health;
    this.#health = undefined;
    if (h) await new Promise((r) => h.close(r));
  }
}

/** The pods' real workloads in their network namespaces. */
export class LiveTraffic extends AttemptMeter {
  /**
   * Starts every pod's workload and waits until all listen.
   * @param intervalMs pause between two attempts of a connection
   */
  async start(net: LabNetwork, procs: ProcessGroup, options: { intervalMs: number; timeoutMs: number }): Promise<void> {
    const ipOf = new Map(this.plan.pods.map((p) => [p.id, p.ipv4]));
    await Promise.all(
      net.pods.map((p) => {
        const connect = this.plan.connections.flatMap((c, id) => (c.from === p.pod.id ? [{ id, ip: ipOf.get(c.to)!, port: c.port, protocol: c.protocol }] : []));
        const work = { serve: p.pod.ports, connect, intervalMs: options.intervalMs, timeoutMs: options.timeoutMs };
        const started = procs.start(`pod-${p.pod.id.replace('/', '-')}`, 'ip', ['netns', 'exec', p.ns, process.execPath, POD_MAIN, JSON.stringify(work)]);
        started.onLine((line) => this.#record(line));
        return procs.ready(started, /"ready":true/, 15_000);
      }),
    );
  }

  #record(line: string): void {
    let r: { c?: unknown; ok?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      return;
    }
    if (typeof r.c === 'number' && typeof r.ok === 'boolean') this.record(r.c, r.ok);
  }

}

/** `after - before`, per connection. */
export function countsBetween(before: Map<string, AttemptCounts>, after: Map<string, AttemptCounts>): Map<string, AttemptCounts> {
  return new Map([...after].map(([k, a]) => [k, { ok: a.ok - (before.get(k)?.ok ?? 0), failed: a.failed - (before.get(k)?.failed ?? 0) }]));
}
