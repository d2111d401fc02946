/**
 * A fleet on the fake Kubernetes API: agents that are the real agent state machine (fetch, verify with the gate,
 * compile, stage, self-test, activate, bake, commit — over the table-lookup datapath instead of a kernel), each
 * following its PolicyNode's target and reporting to its status through its own client, as `palisade-agent run
 * --rollout --kubeconfig` does; the bundles in a filesystem store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBundleStore, type BundleDescriptor } from '../../pipeline/stores/index.js';
import { applyBundle } from '../../node-agent/agent/apply.js';
import type { CycleDeps } from '../../node-agent/agent/cycle.js';
import { memoryLog } from '../../node-agent/agent/log.js';
import { RolloutLink, statusFor, type NodeTargetView } from '../../node-agent/agent/rollout-link.js';
import { TableDatapath } from '../../node-agent/agent/table-datapath.js';
import type { AgentState } from '../../node-agent/agent/types.js';
import type { FakeApiServer } from '../support/fake-kube-apiserver.js';
import { bundleOf, ENDPOINTS, freshState, KEY, POLICY, POLICY_9090, steppingClock, TRUST } from '../node-agent/agent/fixtures.js';
import { recordsAs } from './kube-fixtures.js';

/** One simulated node. */
export interface SimAgent {
  readonly node: string;
  readonly link: RolloutLink;
  readonly deps: CycleDeps;
  state: AgentState;
  target: NodeTargetView | undefined;
  /** Serials this node was ever told to run. */
  readonly told: Set<number>;
}

/** A bundle store and `n` agents (node-0 labelled canary); the digests in `failing` fail node-0's health check. */
export function kubeFleet(api: FakeApiServer, n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pld-kube-fleet-'));
  const bundles = new FsBundleStore(join(dir, 'store'));
  const failing = new Set<string>();
  const agents: SimAgent[] = Array.from({ length: n }, (_, i) => {
    const node = `node-${i}`;
    const agent: SimAgent = {
      node,
      link: new RolloutLink(recordsAs(api, `agent-${node}`), node, i === 0 ? { 'palisade.io/canary': 'true' } : {}),
      deps: {
        store: bundles,
        datapath: new TableDatapath(),
        persistence: { saveTrusted: async () => undefined, saveEnforced: async () => undefined, saveRejection: async () => undefined, saveRollback: async () => undefined },
        clock: steppingClock(),
        trust: TRUST,
        endpoints: () => ENDPOINTS,
        bake: { durationMs: 20, intervalMs: 10, health: async () => (i === 0 && agent.target?.descriptor && failing.has(agent.target.descriptor.digest) ? 'canary health check failed' : null) },
        log: memoryLog(),
      },
      state: freshState(),
      target: undefined,
      told: new Set(),
    };
    return agent;
  });

  /** Each agent once, as its poll does: read the target, apply it when new, report (at `now`). */
  async function agentsRound(now: number): Promise<void> {
    await Promise.all(
      agents.map(async (a) => {
        a.target = await a.link.target();
        const want = a.target?.descriptor;
        if (want) a.told.add(want.serial);
        if (want && want.digest !== a.state.enforced?.bundleDigest && !a.state.rejected.has(want.digest)) {
          a.state = (await applyBundle(a.deps, a.state, want)).state;
        }
        await a.link.report(statusFor(a.state, a.target, 0, now));
      }),
    );
  }

  /** Publishes a good bundle (policy variant by serial parity) or one that fails the canary's health check. */
  async function publish(serial: number, bad = false): Promise<BundleDescriptor> {
    const d = await bundles.publish({ serial, bytes: bundleOf(serial, [KEY], serial % 2 === 0 ? POLICY_9090 : POLICY) });
    if (bad) failing.add(d.digest);
    return d;
  }

  return { dir, bundles, agents, agentsRound, publish, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
