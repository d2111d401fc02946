/**
 * Real packets: two network namespaces as pods on a bridge, the classifiers attached to the host-side veths, real
 * TCP, UDP and ICMP (IPv4 and IPv6) allowed or dropped as the staged policy says, replies of allowed connections
 * passing, and the counters and ring-buffer events matching what was sent.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { openDatapath, type LoadedDatapath, type VerdictEvent } from '../../node-agent/datapath/index.js';
import { recordEvents, type EventLog } from './event-log.js';
import {
  OBJECT_PATH,
  createPods,
  describeKernel,
  peerRun,
  peerServe,
  tearDownPods,
  type PodNet,
  type Server,
} from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-traffic';
const ID_A = 1001;
const ID_B = 1002;

const entry = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: 1, direction: 'egress', identity: ID_B, protocol: 6, port: 0, portPrefixLen: 16, deny: false, proxy: false, ruleId: 0, ...over,
});

const POLICY: PolicyEntry[] = [
  // A (endpoint 1) may open: TCP 8080 and 9090, UDP 5353, ICMP/ICMPv6 echo — to B only.
  entry({ port: 8080, ruleId: 1 }),
  entry({ protocol: 17, port: 5353, ruleId: 2 }),
  entry({ protocol: 1, port: 8 << 8, portPrefixLen: 8, ruleId: 3 }),
  entry({ protocol: 58, port: 128 << 8, portPrefixLen: 8, ruleId: 4 }),
  entry({ port: 9090, ruleId: 5 }),
  // B (endpoint 2) accepts TCP 8080, UDP 5353 and echo from A; 9090 is explicitly denied to everyone.
  entry({ endpointId: 2, direction: 'ingress', identity: ID_A, port: 8080, ruleId: 11 }),
  entry({ endpointId: 2, direction: 'ingress', identity: ID_A, protocol: 17, port: 5353, ruleId: 12 }),
  entry({ endpointId: 2, direction: 'ingress', identity: ID_A, protocol: 1, port: 8 << 8, portPrefixLen: 8, ruleId: 13 }),
  entry({ endpointId: 2, direction: 'ingress', identity: ID_A, protocol: 58, port: 128 << 8, portPrefixLen: 8, ruleId: 14 }),
  entry({ endpointId: 2, direction: 'ingress', identity: 0, port: 9090, deny: true, ruleId: 15 }),
  // A accepts nothing new, B opens nothing: only replies may flow that way.
];

describeKernel('real traffic between test pods', () => {
  let net: PodNet | undefined;
  let dp: LoadedDatapath | undefined;
  let ids: { programs: readonly number[]; maps: readonly number[] } = { programs: [], maps: [] };
  const servers: (Server | undefined)[] = [];
  let log: EventLog | undefined;

  const a = () => net!.pods[0]!;
  const b = () => net!.pods[1]!;

  beforeAll(async () => {
    net = createPods('rt', 30, ['a', 'b']);
    dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    ids = dp.kernelIds();
    dp.setEndpoints([
      { address: a().ipv4, endpointId: 1 }, { address: a().ipv6, endpointId: 1 },
      { address: b().ipv4, endpointId: 2 }, { address: b().ipv6, endpointId: 2 },
    ]);
    dp.stageGeneration(1, {
      ipcache: [
        { prefix: `${a().ipv4}/32`, identity: ID_A }, { prefix: `${a().ipv6}/128`, identity: ID_A },
        { prefix: `${b().ipv4}/32`, identity: ID_B }, { prefix: `${b().ipv6}/128`, identity: ID_B },
      ],
      policy: POLICY,
    });
    dp.switchTo(1);
    for (const pod of net.pods) dp.attach(pod.hostIf);
    log = recordEvents(dp);
    servers.push(await peerServe(b().ns, 'serve-tcp', '8080', '8081', '9090'));
    servers.push(await peerServe(b().ns, 'serve-udp', '6', '5353'));
  });

  beforeEach(() => log!.reset());

  afterAll(async () => {
    expect(await tearDownPods(servers, dp, net, { ...ids, pinDir: PIN_DIR, podTag: 'rt' })).toEqual([]);
  });

  /** Events so far, after draining the ring. */
  const seen = (): VerdictEvent[] => log!.seen();
  const count = (pred: (e: VerdictEvent) => boolean) => seen().filter(pred).length;

  /** Counters must equal the events, key by key (every judged packet produced one event here). */
  const expectCountersMatchEvents = () => {
    const fromEvents = new Map<string, { packets: number; bytes: number }>();
    for (const e of seen()) {
      const k = `${e.endpointId}/${e.direction}/${e.verdict}/${e.gen}`;
      const cur = fromEvents.get(k) ?? { packets: 0, bytes: 0 };
      fromEvents.set(k, { packets: cur.packets + 1, bytes: cur.bytes + e.pktLen });
    }
    const counters = new Map(dp!.readCounters().map((r) => [`${r.endpointId}/${r.direction}/${r.verdict}/${r.gen}`, { packets: r.packets, bytes: r.bytes }]));
    expect(counters).toEqual(fromEvents);
  };

  test.each([['IPv4', 'ipv4'], ['IPv6', 'ipv6']] as const)('%s: an allowed TCP connection works both ways; its replies pass as replies', async (_n, fam) => {
    expect(await peerRun(a().ns, 'tcp-connect', b()[fam], '8080', '3000')).toEqual({ result: 'ok' });
    const tcp8080 = (e: VerdictEvent) => e.protocol === 6 && (e.dport === 8080 || e.sport === 8080);
    expect(seen().filter(tcp8080).every((e) => e.verdict === 'forwarded' || e.verdict === 'reply')).toBe(true);
    // The opening direction is judged and allowed by the named rules; the other direction passes as replies.
    expect(count((e) => tcp8080(e) && e.endpointId === 1 && e.direction === 'egress' && e.verdict === 'forwarded' && e.ruleId === 1)).toBeGreaterThanOrEqual(3);
    expect(count((e) => tcp8080(e) && e.endpointId === 2 && e.direction === 'ingress' && e.verdict === 'forwarded' && e.ruleId === 11)).toBeGreaterThanOrEqual(3);
    expect(count((e) => tcp8080(e) && e.endpointId === 2 && e.direction === 'egress' && e.verdict === 'reply')).toBeGreaterThanOrEqual(2);
    expect(count((e) => tcp8080(e) && e.endpointId === 1 && e.direction === 'ingress' && e.verdict === 'reply')).toBeGreaterThanOrEqual(2);
    const first = seen().find(tcp8080)!;
    expect(first).toMatchObject({ saddr: a()[fam], daddr: b()[fam], dport: 8080, srcIdentity: ID_A, dstIdentity: ID_B, family: fam === 'ipv4' ? 4 : 6 });
    expectCountersMatchEvents();
  });

  test('TCP to a port A may not open is dropped at A (POLICY_DENIED) and never reaches B', async () => {
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '8081', '1500')).toEqual({ result: 'timeout' });
    const to8081 = seen().filter((e) => e.protocol === 6 && e.dport === 8081);
    expect(to8081.length).toBeGreaterThanOrEqual(1); // the SYN and its retransmissions
    expect(to8081.every((e) => e.endpointId === 1 && e.direction === 'egress' && e.verdict === 'dropped' && e.dropReason === 'POLICY_DENIED')).toBe(true);
    expectCountersMatchEvents();
  });

  test('TCP that B explicitly denies leaves A and is dropped at B (POLICY_DENY, the deny rule)', async () => {
    expect(await peerRun(a().ns, 'tcp-connect', b().ipv4, '9090', '1500')).toEqual({ result: 'timeout' });
    const to9090 = seen().filter((e) => e.protocol === 6 && e.dport === 9090);
    const atA = to9090.filter((e) => e.endpointId === 1);
    const atB = to9090.filter((e) => e.endpointId === 2);
    expect(atA.length).toBeGreaterThanOrEqual(1);
    expect(atA.every((e) => e.verdict === 'forwarded' && e.ruleId === 5)).toBe(true);
    expect(atB).toHaveLength(atA.length); // every SYN that left A reached B's classifier
    expect(atB.every((e) => e.direction === 'ingress' && e.verdict === 'dropped' && e.dropReason === 'POLICY_DENY' && e.ruleId === 15)).toBe(true);
    expectCountersMatchEvents();
  });

  test.each([['IPv4', 'ipv4'], ['IPv6', 'ipv6']] as const)('%s: UDP request and response pass; the response is a reply', async (_n, fam) => {
    expect(await peerRun(a().ns, 'udp-request', b()[fam], '5353', '2000', '40123')).toEqual({ result: 'ok' });
    const udp = seen().filter((e) => e.protocol === 17);
    const tally = udp.map((e) => `${e.endpointId}/${e.direction}/${e.verdict}/${e.ruleId}/${e.sport}->${e.dport}`);
    // One conntrack entry per connection on the node: replies carry the rule that last allowed it (B's ingress).
    expect(tally).toEqual([
      '1/egress/forwarded/2/40123->5353',
      '2/ingress/forwarded/12/40123->5353',
      '2/egress/reply/12/5353->40123',
      '1/ingress/reply/12/5353->40123',
    ]);
    expectCountersMatchEvents();
  });

  test.each([['IPv4', 'ipv4', 1], ['IPv6', 'ipv6', 58]] as const)('%s: ping A → B gets every echo answered; counters and events match', async (_n, fam, proto) => {
    const r = await peerRun(a().ns, 'icmp-echo', b()[fam], '5', '1000');
    expect(r).toMatchObject({ sent: 5, received: 5 });
    const icmp = seen().filter((e) => e.protocol === proto);
    const n = (ep: number, dir: string, verdict: string) => icmp.filter((e) => e.endpointId === ep && e.direction === dir && e.verdict === verdict).length;
    expect([n(1, 'egress', 'forwarded'), n(2, 'ingress', 'forwarded'), n(2, 'egress', 'reply'), n(1, 'ingress', 'reply')]).toEqual([5, 5, 5, 5]);
    expect(icmp.every((e) => e.sport === r.id)).toBe(true); // the echo id rides in sport
    expect(icmp.filter((e) => e.verdict === 'dropped')).toEqual([]);
    expectCountersMatchEvents();
  });

  test('ping B → A is dropped where B sends it (B may open nothing)', async () => {
    expect(await peerRun(b().ns, 'icmp-echo', a().ipv4, '3', '500')).toMatchObject({ sent: 3, received: 0 });
    const icmp = seen().filter((e) => e.protocol === 1);
    expect(icmp).toHaveLength(3);
    expect(icmp.every((e) => e.endpointId === 2 && e.direction === 'egress' && e.verdict === 'dropped' && e.dropReason === 'POLICY_DENIED' && e.icmpType === 8)).toBe(true);
    expectCountersMatchEvents();
  });
});
