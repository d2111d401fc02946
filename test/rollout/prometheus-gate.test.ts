/**
 * Metric gates against a real Prometheus (Debian's `prometheus`, installed by setup.sh), started here on 127.0.0.1,
 * scraping a small exporter that serves Palisade's drop counter; then a rollout aborted by what Prometheus measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureGate, nodesRegex, queryInstant, startRollout, step, type MeasurementDue, type MetricGateSpec, type RolloutSpec } from '../../pipeline/rollout/index.js';
import { allActive, fleetOf, NEXT, threeWaves } from './fleet.js';

const work = mkdtempSync(join(tmpdir(), 'pld-prom-'));
let exporter: Server;
let prometheus: ChildProcess;
let promUrl: string;
let exposition = '';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function setDrops(perNode: Record<string, number>): void {
  exposition = [
    '# HELP palisade_drop_count_total Packets dropped by policy.',
    '# TYPE palisade_drop_count_total counter',
    ...Object.entries(perNode).map(([node, n]) => `palisade_drop_count_total{node="${node}",reason="POLICY_DENIED",direction="ingress"} ${n}`),
    '',
  ].join('\n');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  setDrops({ 'node-0': 42, 'node-1.zone-a': 8, other: 1000 });
  exporter = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition));
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(join(work, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agents\n    static_configs:\n      - targets: ['${target}']\n`);
  prometheus = spawn('prometheus', [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => prometheus.once('exit', (code) => reject(new Error(`prometheus exited (${code}); is Debian's prometheus installed? ./setup.sh installs it`))));
  exited.catch(() => undefined);
  await Promise.race([exited, waitFor('a first scrape', async () => ((await queryInstant('sum(palisade_drop_count_total)', { url: promUrl }, Date.now())) === 1050 ? true : undefined))]);
}, 60_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const gone = new Promise((r) => prometheus.once('exit', r));
    prometheus.kill('SIGTERM');
    await gone;
  }
  await new Promise<void>((r) => (exporter ? exporter.close(() => r()) : r()));
  rmSync(work, { recursive: true, force: true });
});

const gate: MetricGateSpec = {
  name: 'drops',
  query: 'sum(palisade_drop_count_total{node=~"$nodes"})',
  successCondition: { op: '<', threshold: 100 },
  intervalMs: 1_000,
  count: 1,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
};
const due = (query: string): MeasurementDue => ({ gate: 'drops', wave: 0, query });

describe('metric gates on a real Prometheus', () => {
  it('sums exactly the named nodes ($nodes, with a dot in a name) and judges the value', async () => {
    const q = gate.query.replace('$nodes', nodesRegex(['node-0', 'node-1.zone-a']));
    const ok = await measureGate(due(q), gate, { url: promUrl }, Date.now());
    expect(ok).toMatchObject({ outcome: 'successful', value: 50 });
    const strict = await measureGate(due(q), { ...gate, successCondition: { op: '<', threshold: 10 } }, { url: promUrl }, Date.now());
    expect(strict).toMatchObject({ outcome: 'failed', value: 50 });
  });

  it('no sample is inconclusive', async () => {
    const m = await measureGate(due('sum(palisade_drop_count_total{node="absent"})'), gate, { url: promUrl }, Date.now());
    expect(m).toMatchObject({ outcome: 'inconclusive', message: 'no sample' });
  });

  it('several series, a bad query and an unreachable server are errors with their reason', async () => {
    const many = await measureGate(due('palisade_drop_count_total'), gate, { url: promUrl }, Date.now());
    expect(many).toMatchObject({ outcome: 'error', message: 'the query returned 3 series; aggregate it to one (e.g. sum(...))' });
    const bad = await measureGate(due('sum(('), gate, { url: promUrl }, Date.now());
    expect(bad.outcome).toBe('error');
    expect(bad.message).toMatch(/^Prometheus refused the query \(HTTP 400\): .*parse error/);
    const down = await measureGate(due('1'), gate, { url: `http://127.0.0.1:${await freePort()}` }, Date.now());
    expect(down.outcome).toBe('error');
    expect(down.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ unreachable: .*ECONNREFUSED/);
  });

  it('a rollout whose canary drops more than the gate allows is aborted by the measurement', async () => {
    const fleet = fleetOf(4);
    const spec: RolloutSpec = { ...threeWaves({ metrics: [{ ...gate, successCondition: { op: '<', threshold: 40 } }] }) };
    const now = Date.now();
    let s = startRollout(NEXT, spec, fleet, null, now).state;
    const r = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, now), now });
    expect(r.due).toEqual([{ gate: 'drops', wave: 0, query: 'sum(palisade_drop_count_total{node=~"node-0"})' }]);
    s = r.state;
    const measured = await Promise.all(r.due.map((d) => measureGate(d, spec.gates.metrics[0]!, { url: promUrl }, now + 1)));
    const after = step(s, { spec, fleet, reports: allActive(['node-0'], NEXT, now + 1), measurements: measured, now: now + 1 });
    expect(after.state.phase).toBe('aborted');
    expect(after.state.reason).toBe("metric gate 'drops' failed in wave 0 (1 failed; last value 42)");
    expect(after.state.blastRadius?.nodes).toEqual(['node-0']);
  });
});
