/**
 * The compiler's own contract: port splitting, deterministic identities and sorted entries (golden file), the
 * ABI invariant, map pressure failing with the endpoint named, and the lookup mirror's LPM semantics.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileTables,
  DatapathMirror,
  MapPressureError,
  PolicyTable,
  splitPortRange,
  type CompileInventory,
  type PolicyEntry,
} from '../../pipeline/core/compile/index.js';
import { l4Contains } from '../../pipeline/core/compile/l4-prefix.js';
import { flow, model, peer, pod, ports, reserved, sel, spec } from '../evaluate/model-builder.js';
import { arbFlows, arbModel } from './generators.js';
import { inventoryFromFlows } from '../../pipeline/core/compile/inventory.js';
import { DnsCache } from '../../pipeline/core/evaluate/index.js';

const web = pod({ ns: 'default', labels: { app: 'web' }, ip: '10.0.0.1', name: 'web-1', namedPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
const api = pod({ ns: 'default', labels: { app: 'api' }, ip: '10.0.0.2', name: 'api-1' });
const host = reserved('host', '192.168.0.10');
const world = reserved('world', '1.2.3.4');

const SMALL = model(
  spec({
    name: 'api-from-web',
    subject: sel({ app: 'api' }, 'default'),
    rules: [
      { direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports([['TCP', 80], ['TCP', 8000, 8191]])], line: 7 },
      { direction: 'ingress', action: 'deny', peers: [peer.cidr('1.2.3.0/24', ['1.2.3.128/25'])], line: 12 },
      { direction: 'egress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports([['TCP', 0, 0, 'http']], { http: [{ method: 'GET', pos: sel().pos }] })], line: 15 },
      { direction: 'egress', peers: [peer.entities('world')], icmps: [{ family: 4, type: 8 }], line: 18 },
    ],
  }),
);
const INVENTORY: CompileInventory = { pods: [web, api], peers: [host, world].map((endpoint) => ({ endpoint, dnsNames: [] })) };

describe('port ranges as power-of-two prefixes', () => {
  it('splits ranges into the fewest aligned blocks', () => {
    expect(splitPortRange(80, 80)).toEqual([{ port: 80, prefixLen: 16 }]);
    expect(splitPortRange(0, 65535)).toEqual([{ port: 0, prefixLen: 0 }]);
    expect(splitPortRange(8000, 8191)).toEqual([
      { port: 8000, prefixLen: 10 },
      { port: 8064, prefixLen: 9 },
    ]);
    expect(splitPortRange(5, 4)).toEqual([]);
  });

  it('covers exactly the range (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b, probe) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        const blocks = splitPortRange(from, to);
        const covering = blocks.filter((p) => l4Contains({ protocol: 6, port: p.port, portPrefixLen: p.prefixLen }, { protocol: 6, port: probe, portPrefixLen: 16 }));
        expect(covering.length).toBe(probe >= from && probe <= to ? 1 : 0);
        for (const p of blocks) expect(p.port % 2 ** (16 - p.prefixLen)).toBe(0);
      }),
      { seed: 5150, numRuns: 2000 },
    );
  });
});

describe('compileTables', () => {
  it('matches the golden file (sorted, deterministic entries)', () => {
    const tables = compileTables(SMALL, INVENTORY);
    const golden = join(import.meta.dirname, 'golden', 'small.json');
    const text = `${JSON.stringify(tables, null, 1)}\n`;
    if (!existsSync(golden) || process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
    // Same input, same output; input order does not matter.
    expect(compileTables(SMALL, { pods: [api, web], peers: [...INVENTORY.peers].reverse() })).toEqual(tables);
  });

  it('never leaves an allow entry inside a deny entry of the same identity, and sorts entries (property)', () => {
    fc.assert(
      fc.property(arbModel(4), arbFlows(20), (m, flows) => {
        const t = compileTables(m, inventoryFromFlows(flows, new DnsCache()));
        const key = (e: PolicyEntry) => [e.endpointId, e.direction === 'ingress' ? 0 : 1, e.identity, e.protocol, e.port, e.portPrefixLen];
        const sorted = [...t.policy].sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
          return 0;
        });
        expect(t.policy).toEqual(sorted);
        for (const d of t.policy.filter((e) => e.deny)) {
          for (const a of t.policy) {
            if (a.deny || a.endpointId !== d.endpointId || a.direction !== d.direction || a.identity !== d.identity) continue;
            expect(l4Contains({ protocol: d.protocol, port: d.port, portPrefixLen: d.portPrefixLen }, { protocol: a.protocol, port: a.port, portPrefixLen: a.portPrefixLen })).toBe(false);
          }
        }
        for (const i of t.identities) if (i.id > 10) expect(i.id).toBeGreaterThanOrEqual(256);
      }),
      { seed: 77, numRuns: 200 },
    );
  });

  it('fails before anything is loaded when one endpoint would overflow its map, naming it', () => {
    // 20,000 distinct single ports from one peer: more than 16,384 entries for api-1.
    const many = model(
      spec({
        name: 'too-many-ports',
        subject: sel({ app: 'api' }, 'default'),
        rules: [{ direction: 'ingress', peers: [peer.endpoints(sel({ app: 'web' }, 'default'))], ports: [ports(Array.from({ length: 20_000 }, (_, i) => ['UDP', 2 * i + 1] as ['UDP', number]))] }],
      }),
    );
    let err: unknown;
    try {
      compileTables(many, INVENTORY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MapPressureError);
    expect((err as MapPressureError).code).toBe('policy-map-overflow');
    expect((err as MapPressureError).message).toMatch(/^policy map of endpoint default\/api-1 \(10\.0\.0\.2\) would hold 2000\d entries, more than the maximum of 16384/);
    // Under a larger configured map it compiles, and the pressure report names the load.
    const t = compileTables(many, INVENTORY, { maxEntriesPerEndpoint: 65_536 });
    expect(t.pressure[0]).toMatchObject({ endpoint: 'default/api-1 (10.0.0.2)', max: 65_536 });
    expect(t.pressure[0]!.entries).toBeGreaterThan(20_000);
  });

  it('fails when all endpoints together would overflow the shared map of one generation', () => {
    let err: unknown;
    try {
      compileTables(SMALL, INVENTORY, { maxEntriesPerGeneration: 10 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MapPressureError);
    expect((err as MapPressureError).scope).toBe('generation');
    expect((err as MapPressureError).message).toMatch(/^policy maps of all endpoints together would hold \d+ entries, more than the 10 one generation can hold \(most loaded: default\/api-1 \(10\.0\.0\.2\) with \d+\)/);
  });
});

describe('ipcache pressure', () => {
  it('fails when the ipcache of one generation would overflow', () => {
    expect(() => compileTables(SMALL, INVENTORY, { maxIpcacheEntriesPerGeneration: 5 })).toThrow(
      expect.objectContaining({ code: 'ipcache-overflow', message: 'the ipcache would hold 7 entries, more than the maximum of 5 per generation' }),
    );
  });
});

describe('lookup mirror', () => {
  const entry = (e: Partial<PolicyEntry>): PolicyEntry => ({ endpointId: 1, direction: 'ingress', identity: 0, protocol: 0, port: 0, portPrefixLen: 0, deny: false, proxy: false, ruleId: 0, ...e });

  it('takes the longest prefix, prefers the identity entry on ties, and lets any deny win', () => {
    const t = new PolicyTable([
      entry({ identity: 300, protocol: 6, port: 80, portPrefixLen: 16, ruleId: 1 }),
      entry({ identity: 0, protocol: 6, port: 0, portPrefixLen: 8, ruleId: 2, proxy: true }),
      entry({ identity: 300, protocol: 6, port: 0, portPrefixLen: 8, ruleId: 3 }),
      entry({ identity: 0, protocol: 17, port: 53, portPrefixLen: 16, ruleId: 4, deny: true }),
      entry({ identity: 301, protocol: 0, ruleId: 5 }),
    ]);
    expect(t.decide(1, 'ingress', 300, { protocol: 6, dport: 80 })).toEqual({ verdict: 'forwarded', dropReason: null, ruleId: 1 });
    expect(t.decide(1, 'ingress', 300, { protocol: 6, dport: 81 })).toEqual({ verdict: 'forwarded', dropReason: null, ruleId: 3 });
    expect(t.decide(1, 'ingress', 299, { protocol: 6, dport: 81 })).toEqual({ verdict: 'proxy', dropReason: null, ruleId: 2 });
    expect(t.decide(1, 'ingress', 301, { protocol: 17, dport: 53 })).toEqual({ verdict: 'dropped', dropReason: 'POLICY_DENY', ruleId: 4 });
    expect(t.decide(1, 'ingress', 299, { protocol: 6, dport: 300 })).toEqual({ verdict: 'dropped', dropReason: 'POLICY_DENIED', ruleId: 0 });
    expect(t.decide(1, 'egress', 300, { protocol: 6, dport: 80 }).dropReason).toBe('POLICY_DENIED');
  });

  it('resolves peers through the ipcache and passes addresses that are no local endpoint', () => {
    const tables = compileTables(SMALL, INVENTORY);
    const mirror = new DatapathMirror(tables);
    const d = mirror.judge({ direction: 'ingress', localIp: '10.0.0.2', peerIp: '1.2.3.4', protocol: 6, dport: 80 });
    expect(d).toMatchObject({ judged: true, verdict: 'dropped', dropReason: 'POLICY_DENY' });
    expect(tables.ruleTable[(d as { ruleId: number }).ruleId]!.map((r) => r.rule)).toEqual(['CiliumNetworkPolicy/default/api-from-web/0/ingress-deny/0']);
    // 1.2.3.200 is in the except: not denied, and not allowed either.
    expect(mirror.judge({ direction: 'ingress', localIp: '10.0.0.2', peerIp: '1.2.3.200', protocol: 6, dport: 80 })).toMatchObject({ verdict: 'dropped', dropReason: 'POLICY_DENIED' });
    expect(mirror.judge({ direction: 'ingress', localIp: '10.0.0.2', peerIp: '10.0.0.1', protocol: 6, dport: 8100 })).toMatchObject({ verdict: 'forwarded' });
    expect(mirror.judge({ direction: 'ingress', localIp: '10.0.0.2', peerIp: '192.168.0.10', protocol: 17, dport: 9 })).toMatchObject({ verdict: 'forwarded', ruleId: 0 });
    expect(mirror.judge({ direction: 'ingress', localIp: '10.9.9.9', peerIp: '10.0.0.1', protocol: 6, dport: 80 })).toEqual({ judged: false });
    void flow;
    void host;
  });
});
