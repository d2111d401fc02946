/**
 * The demo without root or BPF: the same nodes, but each agent's datapath is the table lookup engine (the agent's
 * real apply cycle and rollout link, in this process: the CLI composes them, see `SimulatedNodeFactory`), and the
 * pods' traffic is each connection's opening packet judged at the source node's egress and the destination node's
 * ingress, as the kernel would judge it. Nothing here is enforced; the demo says so on every line that would claim it.
 */
import type { LabPlan } from './lab-plan.js';
import { AttemptMeter } from './live-traffic.js';

/** A pod as an agent's endpoints list names it. */
export interface SimulatedPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly ips: readonly string[];
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol: 'TCP' | 'UDP' }[];
  /** Set for this node's own pods. */
  readonly interface?: string;
}

/** What the demo needs of a simulated node. */
export interface SimulatedNodeHandle {
  /** One agent round: read the target, apply it when new, report the status. */
  round(): Promise<void>;
  /** Judges one packet at one of this node's pods: true forwarded, false dropped, undefined not judged here. */
  judge(direction: 'egress' | 'ingress', localIp: string, peerIp: string, protocol: number, dport: number): boolean | undefined;
  /** Packets the node's datapath dropped by policy. */
  drops(): number;
}

/** Makes a simulated node (supplied by the CLI, which may compose the agent with the pipeline). */
export type SimulatedNodeFactory = (spec: {
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly storeUrl: string;
  readonly storeToken: string;
  readonly trustFile: string;
  readonly pods: readonly SimulatedPod[];
  readonly bakeMs: number;
  readonly health: () => Promise<string | null>;
}) => SimulatedNodeHandle;

const PROTOCOLS = { TCP: 6, UDP: 17 } as const;

/** Simulated traffic: every `intervalMs`, one attempt of each connection, judged by the nodes. */
export class SimulatedTraffic extends AttemptMeter {
  #timer: NodeJS.Timeout | undefined;

  constructor(plan: LabPlan) {
    super(plan);
  }

  start(nodes: ReadonlyMap<string, SimulatedNodeHandle>, intervalMs: number): void {
    const pod = new Map(this.plan.pods.map((p) => [p.id, p]));
    this.#timer = setInterval(() => {
      this.plan.connections.forEach((c, i) => {
        const from = pod.get(c.from)!;
        const to = pod.get(c.to)!;
        const proto = PROTOCOLS[c.protocol];
        const out = nodes.get(from.node)?.judge('egress', from.ipv4, to.ipv4, proto, c.port);
        const into = out === false ? undefined : nodes.get(to.node)?.judge('ingress', to.ipv4, from.ipv4, proto, c.port);
        this.record(i, out !== false && into !== false);
      });
    }, intervalMs);
  }

  override async close(): Promise<void> {
    clearInterval(this.#timer);
    await super.close();
  }
}

/** Runs every node's rounds every `intervalMs` until stopped; a failed round is retried on the next tick. */
export function runSimulatedNodes(nodes: ReadonlyMap<string, SimulatedNodeHandle>, intervalMs: number, onError: (node: string, err: unknown) => void): { stop(): Promise<void> } {
  let running = true;
  const loops = [...nodes].map(async ([name, n]) => {
    while (running) {
      await n.round().catch((err: unknown) => onError(name, err));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
