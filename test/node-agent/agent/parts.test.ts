/**
 * The agent's small parts: backoff (capped, jittered, reset), the log sink's escaping, the state directory (whole
 * files, corrupt files named, the lock), and the endpoints file (parsing, errors with positions, change detection).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Backoff } from '../../../node-agent/agent/backoff.js';
import { memoryLog } from '../../../node-agent/agent/log.js';
import { StateDir } from '../../../node-agent/agent/state-dir.js';
import { AgentError } from '../../../node-agent/agent/errors.js';
import { DiscoveryError, FileEndpointSource, parseEndpoints } from '../../../node-agent/discovery/index.js';
import { inventoryOf } from '../../../node-agent/agent/inventory.js';
import { compileTables } from '../../../pipeline/core/compile/index.js';
import { model } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'pld-agent-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backoff', () => {
  test('doubles up to the cap, stays within the jitter band, and resets', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.5 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    const high = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.5 }, () => 1);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(high.attempts).toBe(5);
    high.reset();
    expect(high.next()).toBe(1000);
  });
});

describe('log sink', () => {
  test('control characters and line separators in quoted input cannot forge a line (escaped by the project escaper)', () => {
    const log = memoryLog();
    log.line('warn', 'rejected: bad\nline\r\u001b[31m\u2028\u202e');
    expect(log.lines).toEqual(['warn rejected: bad\\x0aline\\x0d\\x1b[31m\\u2028\\u202e']);
  });
});

describe('state directory', () => {
  test('a corrupt file is named and never silently replaced by a fresh start', async () => {
    const st = new StateDir(join(dir, 'corrupt'));
    await st.saveTrusted({ minSerial: 7, minRollbackOf: 6, trustRootVersion: null });
    expect((await st.read()).trusted).toEqual({ minSerial: 7, minRollbackOf: 6, trustRootVersion: null });
    writeFileSync(join(st.dir, 'trusted.json'), '{"minSerial": "seven"');
    await expect(st.read()).rejects.toThrow(AgentError);
    await expect(st.read()).rejects.toThrow(/trusted\.json: .*move it away/);
    writeFileSync(join(st.dir, 'trusted.json'), '{"minSerial": -1}');
    await expect(st.read()).rejects.toMatchObject({ code: 'state-corrupt' });
  });

  test('rejections are kept per bundle, newest last, and survive a re-read', async () => {
    const st = new StateDir(join(dir, 'rejections'));
    const r = (d: string, code: string) => ({ bundleDigest: d, serial: 1, step: 'verify' as const, code, message: 'm', at: '2026-12-01T00:00:00.000Z' });
    await st.saveRejection(r('sha256:a', 'bundle-expired'));
    await st.saveRejection(r('sha256:b', 'bundle-threshold'));
    await st.saveRejection(r('sha256:a', 'bundle-rollback'));
    expect((await st.read()).rejections.map((x) => `${x.bundleDigest} ${x.code}`)).toEqual(['sha256:b bundle-threshold', 'sha256:a bundle-rollback']);
  });

  test('the lock keeps a second agent out and is taken over from a dead one', () => {
    const st = new StateDir(join(dir, 'lock'));
    st.ensure();
    const release = st.lock();
    writeFileSync(join(st.dir, 'agent.lock'), '1\n'); // pid 1 is alive
    expect(() => st.lock()).toThrow(/in use by agent pid 1/);
    writeFileSync(join(st.dir, 'agent.lock'), '999999999\n');
    const again = st.lock();
    again();
    release();
  });
});

describe('endpoints file', () => {
  const good = `pods:
  - {namespace: shop, name: web, labels: {app: web}, ips: [10.1.0.1, "FD00:0::1"], interface: veth-web}
  - {namespace: shop, name: db, labels: {app: db, tier: 1}, namespaceLabels: {team: x}, ips: [10.2.0.9]}
`;

  test('parses pods, sorts them, canonicalises addresses; local pods become endpoints, others peers', () => {
    const set = parseEndpoints(good, 'e.yaml');
    expect(set.pods.map((p) => p.name)).toEqual(['db', 'web']);
    expect(set.pods[1]?.ips).toEqual(['10.1.0.1', 'fd00::1']);
    expect(set.pods[0]?.labels).toEqual({ app: 'db', tier: '1' });
    const inv = inventoryOf(set);
    expect(inv.pods.map((p) => p.ip)).toEqual(['10.1.0.1', 'fd00::1']);
    expect(inv.peers.map((p) => p.endpoint.labels.map((l) => `${l.key}=${l.value}`))).toEqual([
      ['app=db', 'io.cilium.k8s.namespace.labels.team=x', 'io.kubernetes.pod.namespace=shop', 'tier=1'],
    ]);
    expect(parseEndpoints(JSON.stringify({ pods: [] }), 'e.json').pods).toEqual([]);
  });

  test('bad files get one clear line with the position or the field', () => {
    expect(() => parseEndpoints('pods:\n  - {namespace: a\n', 'e.yaml')).toThrow(/^e\.yaml:\d+:\d+: /);
    const cases: [string, RegExp][] = [
      ['pods: {}', /top level: expected a mapping with a `pods` list/],
      ['pods: [{namespace: a, name: b, ips: [300.1.1.1]}]', /pods\[0\]\.ips\[0\]: not an IPv4 or IPv6 address/],
      ['pods: [{namespace: a, name: b, ips: [10.0.0.1]}, {namespace: a, name: c, ips: [10.0.0.1]}]', /pods\[1\]\.ips\[0\]: 10\.0\.0\.1 is also the address of a\/b/],
      ['pods: [{namespace: a, name: b, ips: [10.0.0.1]}, {namespace: a, name: b, ips: [10.0.0.2]}]', /listed twice/],
      ['pods: [{namespace: a, name: b, ips: [10.0.0.1], interface: "x;rm -rf"}]', /interface: not an interface name/],
      ['pods: [{namespace: a, name: b, ips: [10.0.0.1], extra: 1}]', /pods\[0\]\.extra: unknown field/],
    ];
    for (const [text, re] of cases) {
      expect(() => parseEndpoints(text, 'e.yaml')).toThrow(DiscoveryError);
      expect(() => parseEndpoints(text, 'e.yaml')).toThrow(re);
    }
  });

  test('named container ports reach the compiler: a NetworkPolicy port given by name opens on the local pod', () => {
    const text = `pods:
  - {namespace: data, name: db-0, labels: {app: db}, ips: [10.2.0.9], interface: veth-db, ports: [{name: postgres, port: 5432}, {port: 9090}]}
  - {namespace: shop, name: api, labels: {app: api}, ips: [10.1.0.1]}
`;
    const set = parseEndpoints(text, 'e.yaml');
    // Unnamed ports cannot be referred to by a policy; they are not kept.
    expect(set.pods.find((p) => p.name === 'db-0')?.namedPorts).toEqual([{ name: 'postgres', port: 5432, protocol: 'TCP' }]);
    const inv = inventoryOf(set);
    expect(inv.pods[0]?.namedPorts).toEqual([{ name: 'postgres', port: 5432, protocol: 'TCP' }]);
    const netpol = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: postgres, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}]
      ports: [{protocol: TCP, port: postgres}]
`;
    const ingressPorts = (s: typeof set): number[] =>
      compileTables(model(netpol), inventoryOf(s)).policy.filter((e) => e.direction === 'ingress' && e.protocol === 6).map((e) => e.port);
    expect(ingressPorts(set)).toEqual([5432]);
    // Without the names, the rule resolves to no port at all: nothing would be allowed in.
    expect(ingressPorts({ pods: set.pods.map(({ namedPorts: _n, ...p }) => p) })).toEqual([]);
    expect(() => parseEndpoints('pods: [{namespace: a, name: b, ips: [10.0.0.1], ports: [{name: Bad_Name, port: 1}]}]', 'e.yaml')).toThrow(/pods\[0\]\.ports\[0\]\.name: not a port name/);
    expect(() => parseEndpoints('pods: [{namespace: a, name: b, ips: [10.0.0.1], ports: [{name: web, port: 70000}]}]', 'e.yaml')).toThrow(/ports\[0\]\.port: expected a port number/);
  });

  test('a label named __proto__ is data, not a prototype', () => {
    const set = parseEndpoints('pods: [{namespace: a, name: b, ips: [10.0.0.1], labels: {__proto__: x, app: y}}]', 'e.yaml');
    expect(Object.entries(set.pods[0]!.labels)).toEqual([['__proto__', 'x'], ['app', 'y']]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('a replaced file is seen as a change; an invalid one is reported and skipped', async () => {
    const path = join(dir, 'endpoints.yaml');
    writeFileSync(path, good);
    const src = new FileEndpointSource(path, 20);
    expect((await src.read()).pods).toHaveLength(2);
    const ac = new AbortController();
    const errors: string[] = [];
    const seen: number[] = [];
    const watching = (async () => {
      for await (const set of src.changes(ac.signal, (e) => errors.push((e as DiscoveryError).code))) {
        seen.push(set.pods.length);
        if (seen.length === 2) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(`${path}.new`, 'pods: [oops');
    renameSync(`${path}.new`, path);
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(`${path}.new`, 'pods: [{namespace: a, name: b, ips: [10.0.0.1]}]');
    renameSync(`${path}.new`, path);
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(`${path}.new`, 'pods: []');
    renameSync(`${path}.new`, path);
    await watching;
    expect(errors).toEqual(['endpoints-syntax']);
    expect(seen).toEqual([1, 0]);
  });
});
