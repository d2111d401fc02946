/**
 * Audit with real packets: two pods on a bridge, a generation activated in audit. A connection the policy would drop
 * succeeds and is reported AUDIT (events and counters, with the would-be drop reason), its replies pass as replies;
 * one control-map write later the same generation enforces and the same connection is dropped. Audit scoped to one
 * endpoint (AUDIT_FLAGGED) forwards would-be drops there only.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { openDatapath, type EndpointEntry, type LoadedDatapath, type VerdictEvent } from '../../node-agent/datapath/index.js';
import { recordEvents, type EventLog } from './event-log.js';
import { OBJECT_PATH, createPods, describeKernel, peerRun, peerServe, tearDownPods, type PodNet, type Server } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-audit';
const ID_A = 1001;
const ID_B = 1002;
const SERIAL = 7n;

const tcp = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: 1, direction: 'egress', identity: ID_B, protocol: 6, port: 0, portPrefixLen: 16, deny: false, proxy: false, ruleId: 0, ...over,
});

const POLICY: PolicyEntry[] = [
  // A (endpoint 1) may open TCP 8080 and 9090 to B; B accepts 8080 from A and denies 9090 to everyone.
  tcp({ port: 8080, ruleId: 1 }),
  tcp({ port: 9090, ruleId: 2 }),
  tcp({ endpointId: 2, direction: 'ingress', identity: ID_A, port: 8080, ruleId: 11 }),
  tcp({ endpointId: 2, direction: 'ingress', identity: 0, port: 9090, deny: true, ruleId: 12 }),
];

describeKernel('audit with real traffic', () => {
  let net: PodNet | undefined;
  let dp: LoadedDatapath | undefined;
  let ids: { programs: readonly number[]; maps: readonly number[] } = { programs: [], maps: [] };
  const servers: (Server | undefined)[] = [];
  let log: EventLog | undefined;
  const a = () => net!.pods[0]!;
  const b = () => net!.pods[1]!;
  const endpoints = (auditB: boolean): EndpointEntry[] => [
    { address: a().ipv4, endpointId: 1 },
    { address: b().ipv4, endpointId: 2, audit: auditB },
  ];

  beforeAll(async () => {
    net = createPods('au', 33, ['a', 'b']);
    dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    ids = dp.kernelIds();
    dp.setEndpoints(endpoints(false));
    dp.stageGeneration(1, { ipcache: [{ prefix: `${a().ipv4}/32`, identity: ID_A }, { prefix: `${b().ipv4}/32`, identity: ID_B }], policy: POLICY });
    // Activation in audit: generation, serial and audit mode in one control write.
    dp.switchTo(1, SERIAL, 'all');
    for (const pod of net.pods) dp.attach(pod.hostIf);
    log = recordEvents(dp);
    servers.push(await peerServe(b().ns, 'serve-tcp', '8080', '8081', '9090'));
  });

  beforeEach(() => log!.reset());

  afterAll(async () => {
    expect(await tearDownPods(servers, dp, net, { ...ids, pinDir: PIN_DIR, podTag: 'au' })).toEqual([]);
  });

  const seen = (): VerdictEvent[] => log!.seen();
  const to = (port: number) => seen().filter((e) => e.protocol === 6 && (e.dport === port || e.sport === port));
  const tally = (events: readonly VerdictEvent[]) => [...new Set(events.map((e) => `${e.endpointId}/${e.direction}/${e.verdict}/${e.dropReason ?? '-'}/${e.ruleId}`))].sort();
  const counters = (verdict: string) => dp!.readCounters().filter((r) => r.verdict === verdict).reduce((n, r) => n + r.packets, 0);

  test('in audit, a connection the policy would drop succeeds and is reported AUDIT at both ends; replies pass as replies', async () => {
    expect(dp!.control()).toMatchObject({ activeGen: 1, serial: SERIAL, audit: 'all' });
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '8081', '3000')).toEqual({ result: 'ok' });
    expect(tally(to(8081))).toEqual([
      '1/egress/audit/POLICY_DENIED/0', // A may not open 8081
      '1/ingress/reply/-/0',
      '2/egress/reply/-/0',
      '2/ingress/audit/POLICY_DENIED/0', // nor may B accept it
    ]);
    // Every would-be-dropped packet is counted under AUDIT; nothing was dropped.
    const audited = to(8081).filter((e) => e.verdict === 'audit').length;
    expect(audited).toBeGreaterThanOrEqual(6); // SYN, ACK, data, FIN... at each end
    expect(counters('audit')).toBe(audited);
    expect(counters('dropped')).toBe(0);
  });

  test('an explicit deny in audit: AUDIT with POLICY_DENY and the deny rule; allowed traffic is unchanged', async () => {
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '9090', '3000')).toEqual({ result: 'ok' });
    expect(tally(to(9090))).toEqual(['1/egress/forwarded/-/2', '1/ingress/reply/-/12', '2/egress/reply/-/12', '2/ingress/audit/POLICY_DENY/12']);
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '8080', '3000')).toEqual({ result: 'ok' });
    expect(to(8080).some((e) => e.verdict === 'audit')).toBe(false);
  });

  test('one control write later the same generation enforces: the connection is dropped where it leaves A', async () => {
    dp!.setAudit('off');
    expect(dp!.control()).toMatchObject({ activeGen: 1, serial: SERIAL, audit: 'off' });
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '8081', '1500')).toEqual({ result: 'timeout' });
    const events = to(8081);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(tally(events)).toEqual(['1/egress/dropped/POLICY_DENIED/0']);
    expect(counters('audit')).toBe(0);
    expect(counters('dropped')).toBe(events.length);
  });

  test('audit scoped to flagged endpoints: B audits its deny, A still enforces', async () => {
    dp!.setEndpoints(endpoints(true));
    dp!.setAudit('flagged');
    expect(dp!.control().audit).toBe('flagged');
    // A allows 9090, B would deny it but audits: the connection works.
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '9090', '3000')).toEqual({ result: 'ok' });
    expect(to(9090).filter((e) => e.endpointId === 2 && e.direction === 'ingress').every((e) => e.verdict === 'audit' && e.dropReason === 'POLICY_DENY')).toBe(true);
    // A does not audit: what A may not open is dropped at A.
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '8081', '1500')).toEqual({ result: 'timeout' });
    expect(tally(to(8081))).toEqual(['1/egress/dropped/POLICY_DENIED/0']);
    dp!.setAudit('off');
  });
});
