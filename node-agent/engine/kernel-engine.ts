/**
 * The `kernel` engine: loads the BPF datapath into this kernel (private pins), stages the tables compiled for the
 * recording into a generation, and runs every flow as a synthesized packet through BPF_PROG_TEST_RUN — the
 * from-endpoint program for the source pod's egress, the to-endpoint program for the destination pod's ingress —
 * reading the verdict and rule id from the program's ring-buffer event. Addresses the replay re-points between
 * packets (DNS answers, reused pod addresses) are written as single ipcache rows into the active generation. Conntrack is cleared before every packet:
 * each flow is judged as the opening of its connection (replies as the connection they answer), as the reference
 * evaluator judges it. Same Verdict contract as the reference evaluator. Needs root and BPF.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import type { Flow, Verdict } from '../../pipeline/core/flow/types.js';
import { NotSupportedError } from '../../pipeline/core/errors.js';
import { FlowReplay, type DatapathMirror, type PacketJudge, type ReplayOptions, type PacketDecision } from '../../pipeline/core/compile/index.js';
import { buildPacket, DatapathError, openDatapath, type Direction, type Generation, type LoadedDatapath, type VerdictEvent } from '../datapath/index.js';

/** Options of the kernel engine. */
/**
 * The engine contract of pipeline/simulate/engine.ts, restated structurally: node-agent may import only the pipeline
 * core.
 */
export interface KernelVerdictEngine {
  readonly name: 'kernel';
  judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict>;
  /** Unloads the datapath and removes its pins. Idempotent. */
  close(): Promise<void>;
}

/** Options of the kernel engine (the simulate engine options, plus where the object and pins are). */
export interface KernelEngineOptions extends ReplayOptions {
  /** A fresh pass over the recording, to compile every party before judging (see pipeline/simulate/engine.ts). */
  readonly flowsForDns?: () => AsyncIterable<Flow>;
  /** The built object (default: bpf/build/palisade.bpf.o of this checkout). */
  readonly objectPath?: string;
  /** Private bpffs pin directory (default /sys/fs/bpf/palisade-engine-<pid>-<n>); removed on close. */
  readonly pinDir?: string;
}



let instances = 0;

/** The built object of this checkout: looked up from this module's directory upwards (source or dist layout). */
export function defaultObjectPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'bpf', 'build', 'palisade.bpf.o');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bpf', 'build', 'palisade.bpf.o');
}

function notSupported(reason: string, cause?: unknown): NotSupportedError {
  return new NotSupportedError('bpf', `kernel engine needs root and BPF: ${reason}`, cause !== undefined ? { cause } : undefined);
}

/** Source port of every synthesized TCP/UDP/SCTP packet. */
const SPORT = 40000;

/**
 * Connections the datapath may have recorded in conntrack, so that conntrack is cleared only when it could turn
 * the next packet into a reply (clearing walks the whole map: doing it per packet would dominate the run).
 */
export class ConntrackShadow {
  private readonly recorded = new Set<string>();

  /** @param sport the source port every synthesized TCP/UDP/SCTP packet carries */
  constructor(private readonly sport: number = SPORT) {}

  /** True when `p`, sent from `saddr` to `daddr`, could match a recorded connection the other way. */
  couldMatch(saddr: string, daddr: string, protocol: number, dport: number): boolean {
    if (this.recorded.size === 0) return false;
    // ICMP: any exchange between the two addresses (echo ids are not part of a flow); others: the reversed tuple.
    return protocol === 1 || protocol === 58
      ? this.recorded.has(`${protocol}|${daddr}|${saddr}`)
      : this.recorded.has(`${protocol}|${daddr}|${saddr}|${dport}|${this.sport}`);
  }

  /** Notes a packet the datapath passed by policy (it records its forward tuple). */
  passed(saddr: string, daddr: string, protocol: number, dport: number): void {
    if (this.recorded.size >= 100_000) this.recorded.clear(); // the caller clears conntrack when asked anyway
    this.recorded.add(protocol === 1 || protocol === 58 ? `${protocol}|${saddr}|${daddr}` : `${protocol}|${saddr}|${daddr}|${this.sport}|${dport}`);
  }

  clear(): void {
    this.recorded.clear();
  }

  get size(): number {
    return this.recorded.size;
  }
}

/**
 * The loaded datapath as the judge of a replay: stages each compilation as a generation and switches to it, writes
 * re-pointed addresses in place, and classifies each packet (events must be on).
 * @returns a PacketJudge for FlowReplay.run
 */
export function kernelJudge(dp: LoadedDatapath): PacketJudge {
  const ct = new ConntrackShadow();
  dp.resetConntrack();
  let loaded: DatapathMirror | undefined;
  let active: Generation = dp.activeGeneration();
  return {
    sync(mirror, changed) {
      if (mirror !== loaded || changed.policy) {
        // A new compilation: stage the whole generation beside the active one and switch, as a bundle is applied.
        const gen = active === 0 ? 1 : 0;
        dp.stageGeneration(gen, { ipcache: mirror.ipcache.entries(), policy: mirror.policyEntries });
        dp.switchTo(gen, undefined, mirror.audit);
        active = gen;
        loaded = mirror;
        mirror.ipcache.trackChanges();
      } else if (changed.ipcache) {
        // The replay re-pointed addresses (a DNS answer, a reused pod address): write just those rows, in place.
        const rows = mirror.ipcache.takeChanges();
        if (rows.length > 0) dp.updateIpcache(active, rows);
      }
      if (changed.endpoints) dp.setEndpoints([...mirror.endpoints].map(([address, endpointId]) => ({ address, endpointId, audit: mirror.auditedEndpoints.has(endpointId) })));
    },
    judge(p): PacketDecision {
      const icmp = p.protocol === 1 || p.protocol === 58;
      const [saddr, daddr] = p.direction === 'egress' ? [p.localIp, p.peerIp] : [p.peerIp, p.localIp];
      const dport = icmp ? 0 : p.dport ?? 0;
      const packet = buildPacket({
        saddr,
        daddr,
        protocol: p.protocol,
        ...(icmp ? { icmpType: p.icmpType ?? 0, icmpCode: 0 } : { sport: SPORT, dport }),
      });
      // Each packet opens its connection: nothing judged earlier may let it pass as a reply.
      if (ct.couldMatch(saddr, daddr, p.protocol, dport)) {
        dp.resetConntrack();
        ct.clear();
      }
      const { event } = dp.classify(p.direction, packet);
      if (event === undefined) return { judged: false };
      if (event.verdict === 'reply') throw new DatapathError('unexpected-reply', `conntrack passed a packet as a reply: ${saddr} → ${daddr}`);
      // Synthesized packets carry the endpoint's own source: a spoofing drop is an engine bug, never a verdict.
      if (event.dropReason === 'INVALID_SIP') throw new DatapathError('invalid-source', `the datapath dropped a synthesized packet as spoofed (INVALID_SIP): ${saddr} → ${daddr}`);
      if (event.verdict !== 'dropped') ct.passed(saddr, daddr, p.protocol, dport);
      return eventDecision(event, p.direction);
    },
  };
}

/** The datapath's decision a verdict event reports, as the replay's PacketDecision (a reply counts as forwarded). */
export function eventDecision(event: VerdictEvent, direction: Direction): PacketDecision {
  return {
    judged: true,
    endpointId: event.endpointId,
    peerIdentity: direction === 'egress' ? event.dstIdentity : event.srcIdentity,
    verdict: event.verdict === 'dropped' || event.verdict === 'proxy' || event.verdict === 'audit' ? event.verdict : 'forwarded',
    dropReason: event.dropReason,
    ruleId: event.ruleId,
  };
}

/**
 * Creates the kernel engine: checks for root, the built object and BPF, and loads the datapath into a private pin
 * directory (released by `close()`).
 * @returns an engine whose `judge` compiles the recording's parties (from `flowsForDns` when given, otherwise chunk by
 *          chunk), stages them as a generation and yields one verdict per flow, in order
 * @throws NotSupportedError "kernel engine needs root and BPF: …" without Linux, root, the object, bpffs or BPF;
 *         (from `judge`) MapPressureError when a policy map would overflow
 */
export async function createEngine(model: PolicyModel, options: KernelEngineOptions = {}): Promise<KernelVerdictEngine> {
  const objectPath = options.objectPath ?? defaultObjectPath();
  if (process.platform !== 'linux') throw notSupported(`this is ${process.platform}, not Linux`);
  if (process.getuid?.() !== 0) throw notSupported('not running as root');
  if (!existsSync(objectPath)) throw notSupported(`the BPF object ${objectPath} is missing (run bpf/build.sh)`);
  const pinDir = options.pinDir ?? `/sys/fs/bpf/palisade-engine-${process.pid}-${instances++}`;
  // Pins already there belong to someone else (a datapath would share their maps): never judge on them.
  if (existsSync(pinDir) && readdirSync(pinDir).length > 0) {
    throw new DatapathError('pins-in-use', `kernel engine needs a private pin directory, but ${pinDir} already holds pins`);
  }
  let dp: LoadedDatapath;
  try {
    dp = openDatapath({ objectPath, pinDir });
    dp.setEventsEnabled(true);
  } catch (err) {
    throw notSupported((err as Error).message, err);
  }
  let closed = false;
  return {
    name: 'kernel',
    async *judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict> {
      if (closed) throw new NotSupportedError('bpf', 'kernel engine is closed');
      const replay = new FlowReplay(model, options);
      if (options.flowsForDns) await replay.scanAll(options.flowsForDns());
      yield* replay.run(kernelJudge(dp), flows);
    },
    async close() {
      if (closed) return;
      closed = true;
      dp.close();
    },
  };
}
