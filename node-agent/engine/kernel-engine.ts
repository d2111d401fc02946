/**
 * The `kernel` engine: loads the BPF datapath into this kernel (private pins), stages the tables compiled for the
 * recording into a generation, and runs every flow as a synthesized packet through BPF_PROG_TEST_RUN — the
 * from-endpoint program for the source pod's egress, the to-endpoint program for the destination pod's ingress —
 * reading the verdict and rule id from the program's ring-buffer event. Conntrack is cleared before every packet:
 * each flow is judged as the opening of its connection (replies as the connection they answer), as the reference
 * evaluator judges it. Same Verdict contract as the reference evaluator. Needs root and BPF.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import type { Flow, Verdict } from '../../pipeline/core/flow/types.js';
import { NotSupportedError } from '../../pipeline/core/errors.js';
import { FlowReplay, type PacketJudge, type ReplayOptions, type PolicyEntry, type PacketDecision } from '../../pipeline/core/compile/index.js';
import { buildPacket, openDatapath, type LoadedDatapath } from '../datapath/index.js';

/** Options of the kernel engine. */
export interface KernelEngineOptions extends ReplayOptions {
  /** The built object (default: bpf/build/palisade.bpf.o of this checkout). */
  readonly objectPath?: string;
  /** Private bpffs pin directory (default /sys/fs/bpf/palisade-engine-<pid>-<n>); removed on close. */
  readonly pinDir?: string;
}

/** The engine (pipeline/simulate/engine.ts `VerdictEngine`). */
export interface KernelEngine {
  readonly name: 'kernel';
  judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict>;
  /** Nothing stays loaded between judge calls: the datapath is unloaded when each iteration ends. */
  close(): Promise<void>;
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

/** The loaded datapath as the judge of a replay. */
function kernelJudge(dp: LoadedDatapath, policy: readonly PolicyEntry[]): PacketJudge {
  let staged = false;
  return {
    sync(mirror, changed) {
      if (changed.ipcache || !staged) {
        // Stage the whole generation beside the active one and switch: the same path a bundle takes.
        const gen = dp.activeGeneration() === 0 ? 1 : 0;
        dp.stageGeneration(gen, { ipcache: mirror.ipcache.entries(), policy });
        dp.switchTo(gen);
        staged = true;
      }
      if (changed.endpoints) dp.setEndpoints([...mirror.endpoints].map(([address, endpointId]) => ({ address, endpointId })));
    },
    judge(p): PacketDecision {
      const icmp = p.protocol === 1 || p.protocol === 58;
      const [saddr, daddr] = p.direction === 'egress' ? [p.localIp, p.peerIp] : [p.peerIp, p.localIp];
      const packet = buildPacket({
        saddr,
        daddr,
        protocol: p.protocol,
        ...(icmp ? { icmpType: p.icmpType ?? 0, icmpCode: 0 } : { sport: 40000, dport: p.dport ?? 0 }),
      });
      dp.resetConntrack();
      const { event } = dp.classify(p.direction, packet);
      if (event === undefined) return { judged: false };
      return {
        judged: true,
        endpointId: event.endpointId,
        peerIdentity: p.direction === 'egress' ? event.dstIdentity : event.srcIdentity,
        verdict: event.verdict === 'dropped' ? 'dropped' : event.verdict === 'proxy' ? 'proxy' : 'forwarded',
        dropReason: event.dropReason,
        ruleId: event.ruleId,
      };
    },
  };
}

/**
 * Creates the kernel engine.
 * @returns an engine whose `judge` reads the whole recording, compiles it, loads the datapath, and yields one verdict
 *          per flow in order; the datapath is unloaded and its pins removed when the iteration ends
 * @throws (from `judge`) NotSupportedError "kernel engine needs root and BPF: …" without root, BPF, bpffs or the object;
 *         MapPressureError when a policy map would overflow
 */
export async function createEngine(model: PolicyModel, options: KernelEngineOptions = {}): Promise<KernelEngine> {
  const objectPath = options.objectPath ?? defaultObjectPath();
  return {
    name: 'kernel',
    close: async () => undefined,
    async *judge(flows: AsyncIterable<Flow>): AsyncIterable<Verdict> {
      if (process.platform !== 'linux') throw notSupported(`this is ${process.platform}, not Linux`);
      if (process.getuid?.() !== 0) throw notSupported('not running as root');
      if (!existsSync(objectPath)) throw notSupported(`the BPF object ${objectPath} is missing (run bpf/build.sh)`);
      const all: Flow[] = [];
      for await (const f of flows) all.push(f);
      const replay = new FlowReplay(model, all, options);
      const pinDir = options.pinDir ?? `/sys/fs/bpf/palisade-engine-${process.pid}-${instances++}`;
      let dp: LoadedDatapath;
      try {
        dp = openDatapath({ objectPath, pinDir });
      } catch (err) {
        throw notSupported((err as Error).message, err);
      }
      try {
        dp.setEventsEnabled(true);
        yield* replay.run(kernelJudge(dp, replay.state.tables.policy));
      } finally {
        dp.close();
      }
    },
  };
}
