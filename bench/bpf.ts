/**
 * The datapath's cost per packet and the cost of changing policy, measured in this kernel:
 *  - ns per packet via BPF_PROG_TEST_RUN (repeat 1,000,000) with 10, 1,000 and 100,000 policy entries in the active
 *    generation, against the empty classifier (bpf/build/empty.bpf.o) on the same packet in the same run; medians of
 *    several alternating runs; the ratio to the floor should stay flat as the tables grow;
 *  - a denied packet in audit (forwarded as AUDIT and tracked) against the same packet enforced;
 *  - time to stage 100,000 policy entries into the inactive generation (and whether the writes were batched), the
 *    time to clear them again, and the time of one switch (one control-map write).
 * Needs root and BPF; prints figures, asserts nothing. `npm run bench -- bpf`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyEntry } from '../pipeline/core/compile/entries.js';
import { buildPacket, encodePolicyEntry, openDatapath, type Generation, type LoadedDatapath } from '../node-agent/datapath/index.js';
import { BpfObject, type BpfProgram } from '../node-agent/libbpf/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OBJECT = join(ROOT, 'bpf', 'build', 'palisade.bpf.o');
const EMPTY = join(ROOT, 'bpf', 'build', 'empty.bpf.o');
const STRUCTURES = join(ROOT, 'bpf', 'build', 'policy-structures.bpf.o');
const PIN_DIR = '/sys/fs/bpf/pld-bench';
const REPEAT = 1_000_000;
const RUNS = 7;
const SIZES = [10, 1_000, 100_000];

const LOCAL = '10.199.40.2';
const PEER = '10.199.41.9'; // identity 400

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** `n` distinct entries spread over 50 endpoints and 2,000 identities, plus the one the packet hits. */
function policy(n: number): PolicyEntry[] {
  const out: PolicyEntry[] = [
    { endpointId: 1, direction: 'egress', identity: 400, protocol: 6, port: 80, portPrefixLen: 16, deny: false, proxy: false, ruleId: 1 },
  ];
  for (let i = 0; out.length < n; i++) {
    const rest = Math.floor(i / 50);
    out.push({
      endpointId: 1 + (i % 50),
      direction: i % 3 === 0 ? 'ingress' : 'egress',
      identity: 1000 + (rest % 2000),
      protocol: i % 5 === 0 ? 17 : 6,
      port: 1024 + Math.floor(rest / 2000) * 16,
      portPrefixLen: i % 7 === 0 ? 12 : 16,
      deny: i % 11 === 0,
      proxy: false,
      ruleId: 10 + i,
    });
  }
  return out;
}

/** The hash candidate's key (bpf/policy-structures.bpf.c struct hash_policy_key): exact fields, 0 = wildcard. */
function hashKey(e: PolicyEntry): Uint8Array {
  const k = new Uint8Array(12);
  const v = new DataView(k.buffer);
  k[1] = e.direction === 'ingress' ? 0 : 1;
  v.setUint16(2, e.endpointId, false);
  v.setUint32(4, e.identity, false);
  k[8] = e.protocol;
  v.setUint16(10, e.portPrefixLen === 0 ? 0 : e.port, false);
  return k;
}

/** Policy lookup alone: LPM trie (2 lookups) vs hash with a fixed wildcard order (6 lookups), same entries. */
function compareStructures(floorProg: BpfProgram, hit: Uint8Array, miss: Uint8Array): void {
  console.log('\npolicy lookup alone (bpf/policy-structures.bpf.c), exact-port entries, ns per packet, median:');
  console.log('entries   | floor | LPM hit | LPM miss | hash hit | hash miss');
  for (const n of SIZES) {
    const obj = BpfObject.open(STRUCTURES);
    try {
      obj.load();
      const lpm = obj.map('bench_lpm_map');
      const hash = obj.map('bench_hash_map');
      // Exact ports only: the hash cannot hold a port range without expanding it into single ports.
      const entries = policy(n).map((e) => ({ ...e, portPrefixLen: 16 }));
      const lk: Uint8Array[] = [];
      const lv: Uint8Array[] = [];
      const hk: Uint8Array[] = [];
      for (const e of entries) {
        const enc = encodePolicyEntry(0, e);
        lk.push(enc.key);
        lv.push(enc.value);
        hk.push(hashKey(e));
      }
      const pack = (rows: Uint8Array[], size: number) => {
        const out = new Uint8Array(rows.length * size);
        rows.forEach((r, i) => out.set(r, i * size));
        return out;
      };
      if (!lpm.updateBatch(pack(lk, 16), pack(lv, 8), n)) lk.forEach((k, i) => lpm.update(k, lv[i] as Uint8Array));
      if (!hash.updateBatch(pack(hk, 12), pack(lv, 8), n)) hk.forEach((k, i) => hash.update(k, lv[i] as Uint8Array));
      const progs = [floorProg, obj.program('bench_lpm'), obj.program('bench_lpm'), obj.program('bench_hash'), obj.program('bench_hash')];
      const pkts = [hit, hit, miss, hit, miss];
      const runs: number[][] = progs.map(() => []);
      for (let r = 0; r < RUNS; r++) {
        progs.forEach((p, i) => {
          const res = p.testRun(pkts[i] as Uint8Array, REPEAT);
          if (i > 0 && res.retval !== (i % 2 === 1 ? 0 : 2)) throw new Error(`${p.name}: unexpected verdict ${res.retval}`);
          runs[i]!.push(res.durationNs);
        });
      }
      const m = runs.map(median);
      console.log(`${n.toLocaleString('en').padStart(9)} | ${m.map((x, i) => String(x).padStart([5, 7, 8, 8, 9][i] as number)).join(' | ')}`);
    } finally {
      obj.close();
    }
  }
}

function main(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench bpf: needs root with CAP_BPF (BPF_PROG_TEST_RUN, bpffs)');
    process.exit(2);
  }
  const empty = BpfObject.open(EMPTY);
  let dp: LoadedDatapath | undefined;
  try {
    empty.load();
    const floorProg = empty.program('palisade_empty');
    dp = openDatapath({ objectPath: OBJECT, pinDir: PIN_DIR });
    dp.setEndpoints([{ address: LOCAL, endpointId: 1 }]);
    dp.setEventsEnabled(false);
    const ipcache = [
      { prefix: `${LOCAL}/32`, identity: 300 },
      { prefix: '10.199.41.0/24', identity: 400 },
      ...Array.from({ length: 1000 }, (_, i) => ({ prefix: `10.${200 + (i >> 8)}.${i & 255}.0/24`, identity: 1000 + i })),
    ];
    const allowed = buildPacket({ saddr: LOCAL, daddr: PEER, protocol: 'TCP', sport: 40000, dport: 80 });
    const denied = buildPacket({ saddr: LOCAL, daddr: PEER, protocol: 'TCP', sport: 40000, dport: 81 });

    console.log(`BPF_PROG_TEST_RUN, repeat ${REPEAT.toLocaleString('en')}, median of ${RUNS} alternating runs, events off`);
    console.log('entries   | floor ns | allowed ns | ratio | denied ns | ratio');
    let gen: Generation = 1;
    for (const n of SIZES) {
      dp.stageGeneration(gen, { ipcache, policy: policy(n) });
      dp.switchTo(gen);
      gen = (1 - gen) as Generation;
      dp.stageGeneration(gen, { ipcache: [], policy: [] }); // only the measured generation holds entries
      const floor: number[] = [];
      const allow: number[] = [];
      const deny: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        floor.push(floorProg.testRun(allowed, REPEAT).durationNs);
        const a = dp.testRun('egress', allowed, REPEAT);
        const d = dp.testRun('egress', denied, REPEAT);
        if (a.retval !== 0 || d.retval !== 2) throw new Error(`unexpected verdicts: allowed → ${a.retval}, denied → ${d.retval}`);
        allow.push(a.durationNs);
        deny.push(d.durationNs);
      }
      const f = median(floor);
      console.log(
        `${n.toLocaleString('en').padStart(9)} | ${String(f).padStart(8)} | ${String(median(allow)).padStart(10)} | ${(median(allow) / f).toFixed(1).padStart(5)} | ${String(median(deny)).padStart(9)} | ${(median(deny) / f).toFixed(1).padStart(5)}`,
      );
    }

    // Audit: the denied packet judged by the same generation in audit is forwarded as AUDIT and tracked in conntrack
    // (as an allowed one); against the same packet enforced (dropped), alternating, same run.
    const enforced: number[] = [];
    const audited: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      dp.setAudit('off');
      const d = dp.testRun('egress', denied, REPEAT);
      dp.setAudit('all');
      const a = dp.testRun('egress', denied, REPEAT);
      if (d.retval !== 2 || a.retval !== 0) throw new Error(`unexpected verdicts: enforced → ${d.retval}, audited → ${a.retval}`);
      enforced.push(d.durationNs);
      audited.push(a.durationNs);
    }
    dp.setAudit('off');
    dp.resetConntrack();
    console.log(`denied packet in audit (forwarded as AUDIT, tracked; 100,000 entries): ${median(audited)} ns vs ${median(enforced)} ns enforced (dropped), ratio ${(median(audited) / median(enforced)).toFixed(2)}`);

    // With events on, the ring buffer (16 MiB) holds ~170,000 events: measure 100,000 packets after draining it.
    dp.setEventsEnabled(true);
    const withEvents: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      dp.pollEvents();
      withEvents.push(dp.testRun('egress', allowed, 100_000).durationNs);
    }
    dp.pollEvents();
    dp.setEventsEnabled(false);
    console.log(`allowed packet with a verdict event per packet (repeat 100,000, 100,000 entries): ${median(withEvents)} ns`);

    // Staging and switching.
    const big = policy(100_000);
    const stage: number[] = [];
    const clear: number[] = [];
    let batched = false;
    const inactive = (1 - dp.activeGeneration()) as Generation;
    for (let r = 0; r < 3; r++) {
      const rep = dp.stageGeneration(inactive, { ipcache, policy: big });
      stage.push(rep.writeMs);
      batched = rep.policyBatched;
      const cleared = dp.stageGeneration(inactive, { ipcache: [], policy: [] });
      clear.push(cleared.clearMs);
    }
    console.log(
      `stage 100,000 policy entries (+${ipcache.length} ipcache) into the inactive generation: ${median(stage).toFixed(1)} ms ` +
        `(${batched ? 'BPF_MAP_UPDATE_BATCH' : 'one update per entry'}); clear them: ${median(clear).toFixed(1)} ms`,
    );
    const switchUs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 10_000; i++) dp.switchTo((i & 1) as Generation);
      switchUs.push(Number(process.hrtime.bigint() - t0) / 10_000 / 1000);
    }
    console.log(`switch (one control-map write, read-modify-write through the FFI): ${median(switchUs).toFixed(2)} µs`);
    compareStructures(floorProg, allowed, denied);
  } finally {
    dp?.close();
    empty.close();
  }
}

main();
