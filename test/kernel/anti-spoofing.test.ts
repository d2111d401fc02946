/**
 * Anti-spoofing with real packets: a pod that sends from an address that is not its own — an extra address on its
 * interface, or another pod's address — is dropped at its own veth with Cilium's INVALID_SIP (132), counted and
 * evented under endpoint 0, while its real address still passes; link-local ICMPv6 (neighbour discovery) still
 * works.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { openDatapath, type LoadedDatapath, type VerdictEvent } from '../../node-agent/datapath/index.js';
import { recordEvents, type EventLog } from './event-log.js';
import { OBJECT_PATH, createPods, describeKernel, peerRun, peerServe, sh, tearDownPods, type PodNet, type Server } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-spoof';
const ID_A = 2001;
const ID_B = 2002;
const ID_C = 2003;
const SUBNET = 32;
const EXTRA4 = `10.199.${SUBNET}.99`;
const EXTRA6 = `fd00:199:${SUBNET}::99`;
// A destination with a static neighbour entry in pod A: packets leave without waiting for ARP/ND replies.
const NOWHERE4 = `10.199.${SUBNET}.200`;
const NOWHERE6 = `fd00:199:${SUBNET}::200`;

const udp = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: 1, direction: 'egress', identity: 0, protocol: 17, port: 5353, portPrefixLen: 16, deny: false, proxy: false, ruleId: 1, ...over,
});

/** Sends `count` UDP datagrams from `source` (an address of the pod) to `dest`:`port` inside `ns`. */
function sendFrom(ns: string, source: string, dest: string, port: number, count: number): void {
  const script =
    "const d=require('dgram');const [fam,src,dst,port,n]=process.argv.slice(1);const s=d.createSocket(fam);" +
    "s.bind({address:src,port:0},()=>{let left=Number(n);const next=()=>{if(left--===0){s.close();return;}" +
    "s.send('spoof',Number(port),dst,(e)=>{if(e){console.error(e.message);process.exit(1);}next();});};next();});";
  sh('ip', 'netns', 'exec', ns, process.execPath, '-e', script, source.includes(':') ? 'udp6' : 'udp4', source, dest, String(port), String(count));
}

describeKernel('anti-spoofing with real packets', () => {
  let net: PodNet | undefined;
  let dp: LoadedDatapath | undefined;
  let ids: { programs: readonly number[]; maps: readonly number[] } = { programs: [], maps: [] };
  const servers: (Server | undefined)[] = [];
  let log: EventLog | undefined;
  const a = () => net!.pods[0]!;
  const b = () => net!.pods[1]!;
  const c = () => net!.pods[2]!;
  const ifindexOf = (name: string) => Number(sh('cat', `/sys/class/net/${name}/ifindex`).trim());

  beforeAll(async () => {
    net = createPods('sp', SUBNET, ['a', 'b', 'c']);
    dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    ids = dp.kernelIds();
    const ifA = ifindexOf(a().hostIf);
    const ifB = ifindexOf(b().hostIf);
    const ifC = ifindexOf(c().hostIf);
    dp.setEndpoints([
      { address: a().ipv4, endpointId: 1, ifindex: ifA }, { address: a().ipv6, endpointId: 1, ifindex: ifA },
      { address: b().ipv4, endpointId: 2, ifindex: ifB }, { address: b().ipv6, endpointId: 2, ifindex: ifB },
      { address: c().ipv4, endpointId: 3, ifindex: ifC }, { address: c().ipv6, endpointId: 3, ifindex: ifC },
    ]);
    dp.stageGeneration(1, {
      ipcache: [
        { prefix: `${a().ipv4}/32`, identity: ID_A }, { prefix: `${a().ipv6}/128`, identity: ID_A },
        { prefix: `${b().ipv4}/32`, identity: ID_B }, { prefix: `${b().ipv6}/128`, identity: ID_B },
        { prefix: `${c().ipv4}/32`, identity: ID_C }, { prefix: `${c().ipv6}/128`, identity: ID_C },
      ],
      // Both pods may send UDP 5353 anywhere and receive it from anyone: only the source address decides here.
      policy: [udp({}), udp({ direction: 'ingress', ruleId: 2 }), udp({ endpointId: 2, ruleId: 3 }), udp({ endpointId: 2, direction: 'ingress', ruleId: 4 })],
    });
    dp.switchTo(1);
    for (const pod of net.pods) dp.attach(pod.hostIf);
    log = recordEvents(dp);
    const inA = (...args: string[]) => sh('ip', 'netns', 'exec', a().ns, ...args);
    inA('ip', 'addr', 'add', `${EXTRA4}/24`, 'dev', 'eth0');
    // IPv6 extras are deprecated (preferred_lft 0): the pod never picks them as a source unless a socket binds them.
    inA('ip', 'addr', 'add', `${EXTRA6}/64`, 'dev', 'eth0', 'nodad', 'preferred_lft', '0');
    // C's addresses on A's interface too: A can then send as C, another local endpoint.
    inA('ip', 'addr', 'add', `${c().ipv4}/32`, 'dev', 'eth0', 'noprefixroute');
    inA('ip', 'addr', 'add', `${c().ipv6}/128`, 'dev', 'eth0', 'nodad', 'noprefixroute', 'preferred_lft', '0');
    inA('ip', 'neigh', 'replace', NOWHERE4, 'lladdr', '02:00:5e:00:53:01', 'dev', 'eth0', 'nud', 'permanent');
    inA('ip', '-6', 'neigh', 'replace', NOWHERE6, 'lladdr', '02:00:5e:00:53:01', 'dev', 'eth0', 'nud', 'permanent');
    servers.push(await peerServe(b().ns, 'serve-udp', '6', '5353'));
  });

  beforeEach(() => log!.reset());

  afterAll(async () => {
    expect(await tearDownPods(servers, dp, net, { ...ids, pinDir: PIN_DIR, podTag: 'sp' })).toEqual([]);
  });

  const seen = (): VerdictEvent[] => log!.seen();
  const spoofRow = () => dp!.readCounters().find((r) => r.endpointId === 0 && r.direction === 'egress' && r.verdict === 'dropped');

  test.each([['IPv4', 'ipv4', EXTRA4], ['IPv6', 'ipv6', EXTRA6]] as const)(
    '%s: an extra address on the pod is dropped with INVALID_SIP; the real address still passes',
    async (_n, fam, extra) => {
      // The real address: request and response, judged by policy.
      expect(await peerRun(a().ns, 'udp-request', b()[fam], '5353', '2000')).toEqual({ result: 'ok' });
      expect(seen().some((e) => e.endpointId === 1 && e.direction === 'egress' && e.verdict === 'forwarded' && e.ruleId === 1)).toBe(true);
      expect(seen().filter((e) => e.dropReason === 'INVALID_SIP')).toEqual([]);

      sendFrom(a().ns, extra, b()[fam], 5353, 3);
      await new Promise((r) => setTimeout(r, 200));
      const spoofed = seen().filter((e) => e.saddr === extra);
      expect(spoofed).toHaveLength(3); // dropped at A's veth: B's classifier never saw them
      for (const e of spoofed) {
        expect(e).toMatchObject({ endpointId: 0, direction: 'egress', verdict: 'dropped', dropReason: 'INVALID_SIP', ruleId: 0, daddr: b()[fam], dport: 5353, dstIdentity: ID_B });
      }
      const row = spoofRow();
      expect(row?.packets).toBe(seen().filter((e) => e.endpointId === 0).length);
      expect(row?.bytes).toBe(seen().filter((e) => e.endpointId === 0).reduce((n, e) => n + e.pktLen, 0));
    },
  );

  test.each([['IPv4', 'ipv4', NOWHERE4], ['IPv6', 'ipv6', NOWHERE6]] as const)(
    "%s: A sending as C (another endpoint's address, on the wrong interface) is dropped with INVALID_SIP",
    async (_n, fam, dest) => {
      sendFrom(a().ns, c()[fam], dest, 5353, 2);
      sendFrom(a().ns, a()[fam], dest, 5353, 2);
      await new Promise((r) => setTimeout(r, 200));
      const asC = seen().filter((e) => e.saddr === c()[fam] && e.daddr === dest);
      expect(asC.map((e) => `${e.endpointId}/${e.verdict}/${e.dropReason}`)).toEqual(['0/dropped/INVALID_SIP', '0/dropped/INVALID_SIP']);
      const asA = seen().filter((e) => e.saddr === a()[fam] && e.daddr === dest);
      expect(asA.map((e) => `${e.endpointId}/${e.verdict}/${e.ruleId}`)).toEqual(['1/forwarded/1', '1/forwarded/1']);
      expect(spoofRow()?.packets).toBe(seen().filter((e) => e.endpointId === 0).length);
    },
  );

  test('link-local ICMPv6 from the pod passes unjudged: IPv6 neighbour discovery keeps working', async () => {
    const inA = (...args: string[]) => sh('ip', 'netns', 'exec', a().ns, ...args);
    inA('ip', '-6', 'neigh', 'flush', 'dev', 'eth0', 'to', b().ipv6);
    expect(await peerRun(a().ns, 'udp-request', b().ipv6, '5353', '2000')).toEqual({ result: 'ok' });
    expect(seen().filter((e) => e.dropReason === 'INVALID_SIP')).toEqual([]);
    expect(seen().filter((e) => e.protocol === 58)).toEqual([]); // neighbour discovery: no event at all
  });
});
