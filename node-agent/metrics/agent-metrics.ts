/**
 * The agent's Prometheus metrics (prom-client, a registry of its own) and the HTTP endpoint that serves them with
 * the health probes: `/metrics`, `/healthz` (the process answers), `/readyz` (a bundle is enforced).
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApplyOutcome, ApplyStep } from '../agent/types.js';
import type { CounterRow, MapPressure, VerdictEvent } from '../datapath/index.js';

/** Buckets of the apply step histogram, in seconds (a self-test loads BPF objects: up to seconds). */
const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Everything the agent exports. */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly drops: Counter<'reason' | 'direction'>;
  private readonly audits: Counter<'reason' | 'direction'>;
  private readonly auditing: Gauge;
  private readonly changes: Counter<'outcome'>;
  private readonly pressure: Gauge<'map_name'>;
  private readonly serial: Gauge;
  private readonly durations: Histogram<'step'>;
  private readonly rollbacks: Counter<'reason'>;
  private readonly storeUp: Gauge;
  private counters: () => readonly CounterRow[] = () => [];
  private maps: () => readonly MapPressure[] = () => [];

  constructor() {
    const registers = [this.registry];
    this.drops = new Counter({ name: 'palisade_drop_count_total', help: 'Packets dropped by the datapath, by drop reason and direction (from verdict events).', labelNames: ['reason', 'direction'], registers });
    this.audits = new Counter({ name: 'palisade_audit_count_total', help: 'Packets policy would have dropped but an audit forwarded (verdict AUDIT), by would-be drop reason and direction (from verdict events).', labelNames: ['reason', 'direction'], registers });
    this.auditing = new Gauge({ name: 'palisade_policy_audit', help: '1 while the bundle runs in audit (would-be drops forwarded and reported AUDIT), else 0.', registers });
    const forwards = new Counter({
      name: 'palisade_forward_count_total',
      help: 'Packets passed by the datapath (forwarded, reply, proxy; not AUDIT), by direction (kernel counters, all generations).',
      labelNames: ['direction'],
      registers,
      collect: () => {
        forwards.reset();
        for (const r of this.counters()) if (r.verdict !== 'dropped' && r.verdict !== 'audit') forwards.inc({ direction: r.direction }, r.packets);
      },
    });
    this.changes = new Counter({ name: 'palisade_policy_change_total', help: 'Bundle applies by outcome (committed, rejected, rolled-back).', labelNames: ['outcome'], registers });
    this.pressure = new Gauge({
      name: 'palisade_bpf_map_pressure',
      help: 'Fill ratio (0..1) of the datapath maps, both generations together.',
      labelNames: ['map_name'],
      registers,
      collect: () => {
        for (const m of this.maps()) this.pressure.set({ map_name: m.map }, m.max > 0 ? m.entries / m.max : 0);
      },
    });
    this.serial = new Gauge({ name: 'palisade_bundle_serial', help: 'Serial of the bundle being enforced (0: none).', registers });
    this.durations = new Histogram({ name: 'palisade_apply_duration_seconds', help: 'Duration of each apply step, in seconds.', labelNames: ['step'], buckets: STEP_BUCKETS, registers });
    this.rollbacks = new Counter({ name: 'palisade_rollbacks_total', help: 'Automatic switches back to the last-known-good, by reason.', labelNames: ['reason'], registers });
    this.storeUp = new Gauge({ name: 'palisade_store_up', help: '1 when the last request to the bundle store succeeded, else 0.', registers });
  }

  /** Where the kernel counters and map fill come from at scrape time. */
  bindDatapath(counters: () => readonly CounterRow[], maps: () => readonly MapPressure[]): void {
    this.counters = counters;
    this.maps = maps;
  }

  /** Counts one verdict event. */
  event(e: VerdictEvent): void {
    if (e.verdict === 'dropped') this.drops.inc({ reason: e.dropReason ?? 'UNKNOWN', direction: e.direction });
    else if (e.verdict === 'audit') this.audits.inc({ reason: e.dropReason ?? 'UNKNOWN', direction: e.direction });
  }

  /** Whether the bundle runs in audit. */
  setAudit(auditing: boolean): void {
    this.auditing.set(auditing ? 1 : 0);
  }

  /** Records how long one apply step took, in seconds. */
  step(step: ApplyStep, seconds: number): void {
    this.durations.observe({ step }, seconds);
  }

  /** Counts an apply's outcome (and its rollback), and sets the serial after a commit. */
  outcome(o: ApplyOutcome): void {
    if (o.kind === 'committed' || o.kind === 'rejected' || o.kind === 'rolled-back') this.changes.inc({ outcome: o.kind });
    if (o.kind === 'committed') this.serial.set(o.record.serial);
    if (o.kind === 'rolled-back') this.rollbacks.inc({ reason: o.rollback.reason });
  }

  /** A rollback that was not part of an apply (restart adoption). */
  rollback(reason: string): void {
    this.rollbacks.inc({ reason });
  }

  /** The serial being enforced (0: none). */
  setSerial(serial: number): void {
    this.serial.set(serial);
  }

  /** Whether the last store request succeeded. */
  setStoreUp(up: boolean): void {
    this.storeUp.set(up ? 1 : 0);
  }
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound address, `host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves `/metrics`, `/healthz` and `/readyz` on `host:port` (port 0: any free port).
 * @throws the listen error (EADDRINUSE, EACCES)
 */
export async function serveMetrics(metrics: AgentMetrics, host: string, port: number, ready: () => boolean): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end('metrics collection failed\n'),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'no bundle enforced yet\n');
    } else {
      res.writeHead(404).end();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : `${host}:${port}`;
  return { address, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
