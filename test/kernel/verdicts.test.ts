/**
 * The per-packet algorithm of palisade_abi.h, run in this kernel through BPF_PROG_TEST_RUN on synthesized packets:
 * identity-specific and wildcard lookups, longest prefix, ties, deny precedence, port ranges, ICMP types, world for
 * unknown peers, conntrack replies, unmanaged traffic, spoofed sources (INVALID_SIP), IPv4 fragments, IPv6 extension headers, generations, and
 * counters that match the events.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { buildPacket, openDatapath, type LoadedDatapath, type PacketSpec, type VerdictEvent } from '../../node-agent/datapath/index.js';
import { ifIndex } from '../../node-agent/libbpf/index.js';
import { OBJECT_PATH, describeKernel, leftovers } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-verdicts';
const EP = 7; // the local endpoint
const LOCAL4 = '10.199.20.2';
const LOCAL6 = 'fd00:199:20::2';
const PEER4 = '10.199.21.9'; // identity 400
const OTHER4 = '10.199.22.9'; // identity 401
const PEER6 = 'fd00:199:21::9'; // identity 400

const allow = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: EP, direction: 'egress', identity: 0, protocol: 6, port: 0, portPrefixLen: 0, deny: false, proxy: false, ruleId: 0, ...over,
});

const POLICY: PolicyEntry[] = [
  // egress
  allow({ identity: 400, port: 80, portPrefixLen: 16, ruleId: 1 }),
  allow({ identity: 400, port: 8080, portPrefixLen: 13, ruleId: 2 }), // 8080..8087
  allow({ identity: 0, port: 0, portPrefixLen: 0, ruleId: 5 }), // any TCP port, any peer (prefix 72)
  allow({ identity: 400, port: 9000, portPrefixLen: 16, proxy: true, ruleId: 6 }), // L7
  allow({ identity: 0, port: 443, portPrefixLen: 16, ruleId: 7 }),
  allow({ identity: 400, port: 443, portPrefixLen: 16, ruleId: 8 }), // same prefix: identity-specific wins
  allow({ identity: 0, port: 22, portPrefixLen: 16, deny: true, ruleId: 9 }), // deny beats everything
  allow({ identity: 401, protocol: 0, ruleId: 10 }), // 401: any protocol, any port (prefix 64)
  allow({ identity: 401, protocol: 17, port: 5353, portPrefixLen: 16, deny: true, ruleId: 11 }),
  allow({ identity: 2, protocol: 17, port: 53, portPrefixLen: 16, ruleId: 12 }), // world DNS
  allow({ identity: 400, protocol: 132, port: 3868, portPrefixLen: 16, ruleId: 13 }), // SCTP
  allow({ identity: 400, protocol: 1, port: 8 << 8, portPrefixLen: 8, ruleId: 14 }), // ICMP echo request
  allow({ identity: 400, protocol: 58, port: 128 << 8, portPrefixLen: 8, ruleId: 15 }), // ICMPv6 echo request
  allow({ identity: 400, protocol: 17, port: 0, portPrefixLen: 0, ruleId: 16 }), // any UDP to 400
  // ingress: only TCP 5432 from 400
  allow({ direction: 'ingress', identity: 400, port: 5432, portPrefixLen: 16, ruleId: 20 }),
];

describeKernel('datapath verdicts (BPF_PROG_TEST_RUN)', () => {
  let dp: LoadedDatapath;
  let ids: { programs: readonly number[]; maps: readonly number[] } = { programs: [], maps: [] };

  beforeAll(() => {
    dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    ids = dp.kernelIds();
    dp.setEndpoints([{ address: LOCAL4, endpointId: EP }, { address: LOCAL6, endpointId: EP }]);
    dp.stageGeneration(1, {
      ipcache: [
        { prefix: `${LOCAL4}/32`, identity: 300 },
        { prefix: `${LOCAL6}/128`, identity: 300 },
        { prefix: '10.199.21.0/24', identity: 400 },
        { prefix: '10.199.22.0/24', identity: 401 },
        { prefix: 'fd00:199:21::/64', identity: 400 },
      ],
      policy: POLICY,
    });
    dp.switchTo(1);
  });

  beforeEach(() => {
    dp.resetConntrack();
    dp.resetCounters();
  });

  afterAll(async () => {
    dp?.close();
    expect(await leftovers({ ...ids, pinDir: PIN_DIR })).toEqual([]);
  });

  const egress = (spec: Partial<PacketSpec> & Pick<PacketSpec, 'protocol'>) =>
    dp.classify('egress', buildPacket({ saddr: LOCAL4, daddr: PEER4, ...spec }));
  const judged = (c: { retval: number; event: VerdictEvent | undefined }) => ({
    retval: c.retval,
    verdict: c.event?.verdict,
    rule: c.event?.ruleId,
    reason: c.event?.dropReason,
  });

  test('an exact port allows, a port outside every entry is dropped as POLICY_DENIED', () => {
    expect(judged(egress({ protocol: 'TCP', dport: 80 }))).toEqual({ retval: 0, verdict: 'forwarded', rule: 1, reason: null });
    expect(judged(egress({ protocol: 'UDP', daddr: OTHER4, dport: 5353 }))).toEqual({ retval: 2, verdict: 'dropped', rule: 11, reason: 'POLICY_DENY' });
    expect(judged(egress({ protocol: 'UDP', daddr: '10.199.23.1', dport: 80 }))).toEqual({ retval: 2, verdict: 'dropped', rule: 0, reason: 'POLICY_DENIED' });
  });

  test('port ranges are prefixes; the longer prefix wins over the wildcard identity', () => {
    expect(judged(egress({ protocol: 'TCP', dport: 8083 })).rule).toBe(2);
    expect(judged(egress({ protocol: 'TCP', dport: 8087 })).rule).toBe(2);
    expect(judged(egress({ protocol: 'TCP', dport: 8088 })).rule).toBe(5); // falls to the any-port wildcard
    expect(judged(egress({ protocol: 'TCP', dport: 9000 }))).toEqual({ retval: 0, verdict: 'proxy', rule: 6, reason: null });
    expect(judged(egress({ protocol: 'TCP', daddr: OTHER4, dport: 9000 })).rule).toBe(5); // 401: wildcard 72 > own 64
  });

  test('on equal prefixes the identity-specific entry wins; a deny anywhere wins over every allow', () => {
    expect(judged(egress({ protocol: 'TCP', dport: 443 })).rule).toBe(8);
    expect(judged(egress({ protocol: 'TCP', daddr: OTHER4, dport: 443 })).rule).toBe(7);
    expect(judged(egress({ protocol: 'TCP', dport: 22 }))).toEqual({ retval: 2, verdict: 'dropped', rule: 9, reason: 'POLICY_DENY' });
    expect(judged(egress({ protocol: 'TCP', daddr: OTHER4, dport: 22 })).reason).toBe('POLICY_DENY');
    expect(judged(egress({ protocol: 'UDP', daddr: OTHER4, dport: 5354 })).rule).toBe(10); // 401 any protocol
  });

  test('a peer address with no ipcache entry is world (identity 2)', () => {
    const c = egress({ protocol: 'UDP', daddr: '192.0.2.53', dport: 53 });
    expect(judged(c)).toEqual({ retval: 0, verdict: 'forwarded', rule: 12, reason: null });
    expect(c.event).toMatchObject({ srcIdentity: 300, dstIdentity: 2, endpointId: EP, direction: 'egress', gen: 1 });
  });

  test('SCTP by port, ICMP by type; IPv6 the same', () => {
    expect(judged(egress({ protocol: 'SCTP', dport: 3868 })).rule).toBe(13);
    expect(judged(egress({ protocol: 'SCTP', dport: 3869 })).reason).toBe('POLICY_DENIED');
    expect(judged(egress({ protocol: 'ICMPv4', icmpType: 8 })).rule).toBe(14);
    expect(judged(egress({ protocol: 'ICMPv4', icmpType: 13 })).reason).toBe('POLICY_DENIED');
    const v6 = (spec: Partial<PacketSpec> & Pick<PacketSpec, 'protocol'>) =>
      judged(dp.classify('egress', buildPacket({ saddr: LOCAL6, daddr: PEER6, ...spec })));
    expect(v6({ protocol: 'TCP', dport: 80 }).rule).toBe(1);
    expect(v6({ protocol: 'ICMPv6', icmpType: 128 }).rule).toBe(15);
    expect(v6({ protocol: 'ICMPv6', icmpType: 1 }).reason).toBe('POLICY_DENIED');
    // Neighbour discovery passes unjudged (no event).
    expect(judged(dp.classify('egress', buildPacket({ saddr: LOCAL6, daddr: PEER6, protocol: 'ICMPv6', icmpType: 135 })))).toEqual({
      retval: 0, verdict: undefined, rule: undefined, reason: undefined,
    });
  });

  test('the event carries the flow: addresses, ports, identities, protocol, length', () => {
    const c = dp.classify('egress', buildPacket({ saddr: LOCAL6, daddr: PEER6, protocol: 'UDP', sport: 4242, dport: 7777, payloadLength: 10 }));
    expect(c.event).toMatchObject({
      family: 6, saddr: LOCAL6, daddr: PEER6, sport: 4242, dport: 7777, protocol: 17, srcIdentity: 300, dstIdentity: 400,
      verdict: 'forwarded', ruleId: 16, dropReason: null, direction: 'egress', endpointId: EP, gen: 1, pktLen: 14 + 40 + 8 + 10,
    });
    // Ingress: the peer is the source; both identities are reported the right way round (events on and off alike).
    const ing = dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'TCP', sport: 1000, dport: 5432 }));
    expect(ing.event).toMatchObject({ srcIdentity: 400, dstIdentity: 300, ruleId: 20, direction: 'ingress' });
    const reply = dp.classify('egress', buildPacket({ saddr: LOCAL4, daddr: PEER4, protocol: 'TCP', sport: 5432, dport: 1000 }));
    expect(reply.event).toMatchObject({ verdict: 'reply', srcIdentity: 300, dstIdentity: 400, ruleId: 20 });
  });

  test('replies of an allowed connection pass; a new connection from the peer is judged by ingress policy', () => {
    const reply = () => dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'TCP', sport: 80, dport: 40000, tcpFlags: 0x12 }));
    expect(judged(reply()).reason).toBe('POLICY_DENIED'); // nothing opened yet
    expect(judged(egress({ protocol: 'TCP', sport: 40000, dport: 80 })).verdict).toBe('forwarded');
    expect(judged(reply())).toEqual({ retval: 0, verdict: 'reply', rule: 1, reason: null });
    // Other tuples are not replies.
    expect(judged(dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'TCP', sport: 80, dport: 40001 }))).verdict).toBe('dropped');
    expect(judged(dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'TCP', sport: 1000, dport: 5432 }))).rule).toBe(20);
    // A dropped packet opens nothing.
    expect(judged(egress({ protocol: 'SCTP', sport: 5, dport: 9 })).verdict).toBe('dropped');
    expect(judged(dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'SCTP', sport: 9, dport: 5 }))).verdict).toBe('dropped');
  });

  test('ICMP echo replies pass by echo id; other ids are judged', () => {
    expect(judged(egress({ protocol: 'ICMPv4', icmpType: 8, icmpId: 77 })).verdict).toBe('forwarded');
    const echoReply = (id: number) =>
      judged(dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'ICMPv4', icmpType: 0, icmpId: id })));
    expect(echoReply(77).verdict).toBe('reply');
    expect(echoReply(78)).toMatchObject({ verdict: 'dropped', reason: 'POLICY_DENIED' });
  });

  test('traffic to addresses that are no local endpoint, and non-IP frames, pass unjudged', () => {
    const c = dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: '10.199.20.3', protocol: 'TCP', dport: 23 }));
    expect(c).toMatchObject({ retval: 0, event: undefined });
    const arp = new Uint8Array(42);
    arp.set([0x08, 0x06], 12);
    expect(dp.classify('egress', arp)).toMatchObject({ retval: 0, event: undefined });
    expect(dp.classify('ingress', arp)).toMatchObject({ retval: 0, event: undefined });
    expect(dp.readCounters()).toEqual([]);
  });

  test('a packet leaving with a source that is no local endpoint is dropped as INVALID_SIP (132), before policy', () => {
    // TCP 80 to PEER4 is allowed for the endpoint: only the source address differs.
    const c = dp.classify('egress', buildPacket({ saddr: '10.199.20.3', daddr: PEER4, protocol: 'TCP', dport: 80 }));
    expect(c.retval).toBe(2);
    expect(c.event).toMatchObject({
      endpointId: 0, direction: 'egress', verdict: 'dropped', dropReason: 'INVALID_SIP', ruleId: 0, saddr: '10.199.20.3', dstIdentity: 400,
    });
    const v6 = dp.classify('egress', buildPacket({ saddr: 'fd00:199:20::3', daddr: PEER6, protocol: 'UDP', dport: 53 }));
    expect(judged(v6)).toEqual({ retval: 2, verdict: 'dropped', rule: 0, reason: 'INVALID_SIP' });
    // Neighbour discovery from a global address that is not the endpoint's is spoofed too.
    expect(judged(dp.classify('egress', buildPacket({ saddr: 'fd00:199:20::3', daddr: PEER6, protocol: 'ICMPv6', icmpType: 135 }))).reason).toBe('INVALID_SIP');
    // ICMPv6 from link-local or the unspecified address (ND, MLD, DAD) passes unjudged.
    for (const saddr of ['fe80::1', 'febf::1', '::']) {
      expect(dp.classify('egress', buildPacket({ saddr, daddr: 'ff02::1:ff00:2', protocol: 'ICMPv6', icmpType: 135 }))).toMatchObject({ retval: 0, event: undefined });
    }
    // Link-local but not ICMPv6, or just outside fe80::/10: spoofed.
    expect(judged(dp.classify('egress', buildPacket({ saddr: 'fe80::1', daddr: PEER6, protocol: 'UDP', dport: 53 }))).reason).toBe('INVALID_SIP');
    expect(judged(dp.classify('egress', buildPacket({ saddr: 'fec0::1', daddr: PEER6, protocol: 'ICMPv6', icmpType: 135 }))).reason).toBe('INVALID_SIP');
    // Counted under endpoint 0, once per drop.
    expect(dp.readCounters()).toEqual([
      { endpointId: 0, direction: 'egress', verdict: 'dropped', gen: 1, packets: 5, bytes: expect.any(Number) },
    ]);
  });

  test("an endpoint with an ifindex accepts its source only on that interface; 0 means any", () => {
    const lo = ifIndex('lo'); // BPF_PROG_TEST_RUN runs a tc program on the loopback device
    try {
      dp.setEndpoints([{ address: LOCAL4, endpointId: EP, ifindex: lo }, { address: LOCAL6, endpointId: EP, ifindex: lo + 1000 }]);
      expect(judged(egress({ protocol: 'TCP', dport: 80 }))).toEqual({ retval: 0, verdict: 'forwarded', rule: 1, reason: null });
      const wrong = dp.classify('egress', buildPacket({ saddr: LOCAL6, daddr: PEER6, protocol: 'TCP', dport: 80 }));
      expect(wrong.event).toMatchObject({ endpointId: 0, verdict: 'dropped', dropReason: 'INVALID_SIP' });
      // The ingress direction is not checked against the interface: traffic to the endpoint is judged by policy.
      expect(judged(dp.classify('ingress', buildPacket({ saddr: PEER6, daddr: LOCAL6, protocol: 'TCP', sport: 1000, dport: 5432 }))).rule).toBe(20);
    } finally {
      dp.setEndpoints([{ address: LOCAL4, endpointId: EP }, { address: LOCAL6, endpointId: EP }]);
    }
  });

  test('single ipcache rows are set and removed in place in the active generation, batched, absent prefixes skipped', () => {
    expect(dp.activeGeneration()).toBe(1);
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ dstIdentity: 400, ruleId: 1 });
    const w = dp.updateIpcache(1, [{ prefix: `${PEER4}/32`, identity: 401 }, { prefix: '10.199.23.0/24', identity: 400 }]);
    expect(w.written).toBe(2);
    expect(typeof w.batched).toBe('boolean');
    // 401 has no port-80 entry: the any-TCP wildcard decides now; the new /24 gives 400 to a world address.
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ dstIdentity: 401, ruleId: 5 });
    expect(egress({ protocol: 'TCP', daddr: '10.199.23.1', dport: 80 }).event).toMatchObject({ dstIdentity: 400, ruleId: 1 });
    // Replacing a row keeps one row; a prefix twice in one call is refused before anything is written.
    dp.updateIpcache(1, [{ prefix: `${PEER4}/32`, identity: 500 }]);
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ dstIdentity: 500 });
    expect(() => dp.updateIpcache(1, [{ prefix: '10.199.24.1/32', identity: 1 }, { prefix: '10.199.24.1', identity: 2 }])).toThrow(/listed twice/);
    expect(egress({ protocol: 'TCP', daddr: '10.199.24.1', dport: 80 }).event).toMatchObject({ dstIdentity: 2 });
    expect(() => dp.updateIpcache(2 as 0, [])).toThrow(/not 0 or 1/);
    // Absent prefixes around and between present ones are skipped; only the present rows count.
    expect(dp.deleteIpcache(1, ['10.199.88.0/24', `${PEER4}/32`, '10.199.88.1/32', '10.199.23.0/24', 'fd00:88::/64'])).toBe(2);
    expect(dp.deleteIpcache(1, [`${PEER4}/32`])).toBe(0);
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ dstIdentity: 400, ruleId: 1 });
    expect(egress({ protocol: 'TCP', daddr: '10.199.23.1', dport: 80 }).event).toMatchObject({ dstIdentity: 2 });
    expect(() => dp.deleteIpcache(1, ['not-a-prefix'])).toThrow();
  });

  test('a non-first IPv4 fragment is judged with port 0; IPv4 options and an IPv6 hop-by-hop header are skipped', () => {
    const frag = buildPacket({ saddr: LOCAL4, daddr: PEER4, protocol: 'TCP', dport: 80 });
    new DataView(frag.buffer).setUint16(14 + 6, 185); // fragment offset 185 × 8 bytes
    expect(judged(dp.classify('egress', frag)).rule).toBe(5); // only the any-port entry matches port 0

    // IPv4 options: the L4 header starts after ihl words.
    const base = buildPacket({ saddr: LOCAL4, daddr: PEER4, protocol: 'TCP', dport: 80 });
    const withOptions = new Uint8Array(base.length + 4);
    withOptions.set(base.subarray(0, 34));
    withOptions[14] = 0x46; // ihl 6
    withOptions.set([1, 1, 1, 0], 34); // NOP NOP NOP EOL
    withOptions.set(base.subarray(34), 38);
    expect(judged(dp.classify('egress', withOptions)).rule).toBe(1);

    const plain = buildPacket({ saddr: LOCAL6, daddr: PEER6, protocol: 'TCP', dport: 80 });
    const hbh = new Uint8Array(plain.length + 8);
    hbh.set(plain.subarray(0, 54));
    hbh[20] = 0; // next header: hop-by-hop
    new DataView(hbh.buffer).setUint16(18, plain.length - 54 + 8);
    hbh.set([6, 0, 1, 4, 0, 0, 0, 0], 54); // HBH: next = TCP, length 0, PadN
    hbh.set(plain.subarray(54), 62);
    expect(judged(dp.classify('egress', hbh)).rule).toBe(1);
  });

  test('each generation judges by its own tables; switching back restores the old verdicts', () => {
    dp.stageGeneration(0, {
      ipcache: [{ prefix: '10.199.21.0/24', identity: 500 }, { prefix: `${LOCAL4}/32`, identity: 300 }],
      policy: [allow({ identity: 500, port: 81, portPrefixLen: 16, ruleId: 30 })],
    });
    expect(egress({ protocol: 'TCP', dport: 81 }).event).toMatchObject({ gen: 1, ruleId: 5 });
    dp.switchTo(0);
    expect(egress({ protocol: 'TCP', dport: 81 }).event).toMatchObject({ gen: 0, ruleId: 30, dstIdentity: 500 });
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ gen: 0, verdict: 'dropped' });
    dp.switchTo(1);
    expect(egress({ protocol: 'TCP', dport: 80 }).event).toMatchObject({ gen: 1, ruleId: 1, dstIdentity: 400 });
  });

  test('counters count exactly what the events reported, per endpoint, direction, verdict and generation', () => {
    const events: VerdictEvent[] = [];
    const specs: PacketSpec[] = [];
    for (let i = 0; i < 40; i++) {
      specs.push({ saddr: LOCAL4, daddr: PEER4, protocol: 'TCP', sport: 1000 + i, dport: [80, 81, 22, 443][i % 4] as number, payloadLength: i });
    }
    for (const s of specs) {
      const c = dp.classify('egress', buildPacket(s));
      if (c.event) events.push(c.event);
    }
    for (let i = 0; i < 10; i++) {
      const c = dp.classify('ingress', buildPacket({ saddr: PEER4, daddr: LOCAL4, protocol: 'TCP', sport: 80, dport: 1000 + i * 4 }));
      if (c.event) events.push(c.event);
    }
    expect(events).toHaveLength(50);
    const expected = new Map<string, { packets: number; bytes: number }>();
    for (const e of events) {
      const k = `${e.endpointId}/${e.direction}/${e.verdict}/${e.gen}`;
      const cur = expected.get(k) ?? { packets: 0, bytes: 0 };
      expected.set(k, { packets: cur.packets + 1, bytes: cur.bytes + e.pktLen });
    }
    const actual = new Map(dp.readCounters().map((r) => [`${r.endpointId}/${r.direction}/${r.verdict}/${r.gen}`, { packets: r.packets, bytes: r.bytes }]));
    expect(actual).toEqual(expected);
    expect(actual.get(`${EP}/ingress/reply/1`)?.packets).toBe(10);
    expect(actual.get(`${EP}/egress/dropped/1`)?.packets).toBe(10); // port 22
  });
});
