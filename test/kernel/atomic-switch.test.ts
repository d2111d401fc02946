/**
 * Atomic switch under load: real UDP traffic flows from pod A to pod B on two ports while the active generation
 * flips back and forth hundreds of times. Generation 0 lets A send to port 5001 only, generation 1 to port 5002 only,
 * and each generation uses its own identities, so a packet judged by a mix of the two (one generation's ipcache with
 * the other's policy, or a verdict that does not fit its generation) would show up. Every packet is counted.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { PolicyEntry } from '../../pipeline/core/compile/entries.js';
import { openDatapath, type Generation, type GenerationTables, type LoadedDatapath, type VerdictEvent } from '../../node-agent/datapath/index.js';
import { OBJECT_PATH, createPods, describeKernel, peerRun, peerServe, tearDownPods, type PodNet, type Server } from './kernel-env.js';
import { recordEvents } from './event-log.js';

const PIN_DIR = '/sys/fs/bpf/pld-switch';
const PORT = [5001, 5002] as const;
/** Identities of A and B in each generation: different, so mixing generations cannot match anything. */
const IDS = [{ a: 1001, b: 1002 }, { a: 2001, b: 2002 }] as const;
const RULE_A = [100, 200] as const; // A egress, the generation's one allowed port
const RULE_B = [[101, 102], [201, 202]] as const; // B ingress, per port

const udp = (over: Partial<PolicyEntry>): PolicyEntry => ({
  endpointId: 1, direction: 'egress', identity: 0, protocol: 17, port: 0, portPrefixLen: 16, deny: false, proxy: false, ruleId: 0, ...over,
});

function tables(gen: Generation, a: { ipv4: string }, b: { ipv4: string }): GenerationTables {
  const id = IDS[gen];
  return {
    ipcache: [{ prefix: `${a.ipv4}/32`, identity: id.a }, { prefix: `${b.ipv4}/32`, identity: id.b }],
    policy: [
      udp({ identity: id.b, port: PORT[gen], ruleId: RULE_A[gen] }),
      udp({ endpointId: 2, direction: 'ingress', identity: id.a, port: PORT[0], ruleId: RULE_B[gen][0] }),
      udp({ endpointId: 2, direction: 'ingress', identity: id.a, port: PORT[1], ruleId: RULE_B[gen][1] }),
    ],
  };
}

/** Why `e` does not fit its generation, or undefined when it does. */
function inconsistency(e: VerdictEvent): string | undefined {
  const g = e.gen;
  const id = IDS[g];
  if (e.srcIdentity !== id.a || e.dstIdentity !== id.b) return `identities ${e.srcIdentity}→${e.dstIdentity} in gen ${g}`;
  if (e.dport !== PORT[0] && e.dport !== PORT[1]) return `unexpected port ${e.dport}`;
  const portIdx = e.dport === PORT[0] ? 0 : 1;
  if (e.endpointId === 1 && e.direction === 'egress') {
    const allowed = PORT[g] === e.dport;
    if (allowed && !(e.verdict === 'forwarded' && e.ruleId === RULE_A[g])) return `gen ${g} port ${e.dport}: ${e.verdict} rule ${e.ruleId}`;
    if (!allowed && !(e.verdict === 'dropped' && e.dropReason === 'POLICY_DENIED')) return `gen ${g} port ${e.dport}: ${e.verdict}`;
    return undefined;
  }
  if (e.endpointId === 2 && e.direction === 'ingress') {
    if (e.verdict !== 'forwarded' || e.ruleId !== RULE_B[g][portIdx]) return `B gen ${g} port ${e.dport}: ${e.verdict} rule ${e.ruleId}`;
    return undefined;
  }
  return `unexpected event at endpoint ${e.endpointId} ${e.direction}`;
}

describeKernel('atomic generation switch under load', () => {
  let net: PodNet | undefined;
  let dp: LoadedDatapath | undefined;
  let ids: { programs: readonly number[]; maps: readonly number[] } = { programs: [], maps: [] };
  const servers: (Server | undefined)[] = [];

  beforeAll(() => {
    net = createPods('as', 31, ['a', 'b']);
    dp = openDatapath({ objectPath: OBJECT_PATH, pinDir: PIN_DIR });
    ids = dp.kernelIds();
  });

  afterAll(async () => {
    expect(await tearDownPods(servers, dp, net, { ...ids, pinDir: PIN_DIR, podTag: 'as' })).toEqual([]);
  });

  test('every packet is judged by exactly one generation, and each verdict fits that generation', async () => {
    const [a, b] = [net!.pods[0]!, net!.pods[1]!];
    const d = dp!;
    d.setEndpoints([{ address: a.ipv4, endpointId: 1 }, { address: b.ipv4, endpointId: 2 }]);
    d.stageGeneration(1, tables(1, a, b));
    d.switchTo(1);
    d.stageGeneration(0, tables(0, a, b));
    d.switchTo(0);
    for (const pod of net!.pods) d.attach(pod.hostIf);
    const sink = await peerServe(b.ns, 'serve-udp', '4', String(PORT[0]), String(PORT[1]));
    servers.push(sink);
    const log = recordEvents(d);
    log.reset({ conntrack: false });
    let switches = 0;
    let running = true;
    const blast = peerRun(a.ns, 'udp-blast', b.ipv4, String(PORT[0]), String(PORT[1]), '2500').finally(() => {
      running = false;
    });
    // Flip generations while the traffic runs: every few milliseconds, one control-map write each.
    while (running) {
      d.switchTo((1 - d.activeGeneration()) as Generation);
      switches++;
      await new Promise((r) => setTimeout(r, 2 + (switches % 7)));
    }
    const sent = (await blast).sent as Record<string, number>;
    await new Promise((r) => setTimeout(r, 200)); // let the last packets cross the bridge
    const events = log.seen();
    log.stop();
    const received = ((await sink.stop()).received ?? {}) as Record<string, number>;

    const totalSent = (sent[PORT[0]] ?? 0) + (sent[PORT[1]] ?? 0);
    const atA = events.filter((e) => e.endpointId === 1 && e.direction === 'egress');
    const atB = events.filter((e) => e.endpointId === 2 && e.direction === 'ingress');
    const perGen = [0, 1].map((g) => atA.filter((e) => e.gen === g).length);
    // Generation changes as seen by the packets, in kernel time order.
    const ordered = [...atA].sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
    let transitions = 0;
    for (let i = 1; i < ordered.length; i++) if (ordered[i]!.gen !== ordered[i - 1]!.gen) transitions++;
    process.stdout.write(
      `[atomic switch] sent ${totalSent} (5001: ${sent[PORT[0]]}, 5002: ${sent[PORT[1]]}), ${switches} switches, ` +
        `judged at A: gen0 ${perGen[0]}, gen1 ${perGen[1]}, ${transitions} generation changes seen by packets; ` +
        `received 5001: ${received[PORT[0]]}, 5002: ${received[PORT[1]]}\n`,
    );

    // Every packet sent was judged exactly once at A (counters count in the kernel, independent of the ring).
    const counters = d.readCounters();
    const counted = (ep: number, dir: string) => counters.filter((r) => r.endpointId === ep && r.direction === dir).reduce((s, r) => s + r.packets, 0);
    expect(counted(1, 'egress')).toBe(totalSent);
    // No event was lost, and the events agree with the counters per generation and verdict.
    expect(atA).toHaveLength(totalSent);
    for (const r of counters) {
      expect(events.filter((e) => e.endpointId === r.endpointId && e.direction === r.direction && e.gen === r.gen && e.verdict === r.verdict)).toHaveLength(r.packets);
    }
    // No packet was judged by a mix: every verdict fits the generation the packet carried.
    const bad = events.map((e) => inconsistency(e)).filter((x) => x !== undefined);
    expect(bad).toEqual([]);
    // Everything A let through reached B's classifier and was allowed there by the same generation's rules.
    expect(atB).toHaveLength(atA.filter((e) => e.verdict === 'forwarded').length);
    // The switch really happened under load, many times, and both generations judged traffic on both ports.
    expect(switches).toBeGreaterThanOrEqual(100);
    expect(transitions).toBeGreaterThanOrEqual(50);
    for (const g of [0, 1] as const) {
      for (const port of PORT) expect(atA.some((e) => e.gen === g && e.dport === port)).toBe(true);
    }
    expect(received[PORT[0]]).toBeGreaterThan(0);
    expect(received[PORT[1]]).toBeGreaterThan(0);
  });
});
