/**
 * The rollout controller and agents on the Kubernetes backend (the fake API server, checking objects against the
 * CRDs): a good bundle goes wave by wave with the PolicyRollout's conditions following, conflicts and API errors
 * injected on the way are retried without losing a report, a bad bundle is stopped on the canary (Degraded,
 * blast radius) and undone there with a rollback bundle, never reaching the other nodes, and a newer bundle
 * supersedes a running rollout, which is kept as its own PolicyRollout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRolloutState, rollbackMaker, RolloutController, type RolloutSpec } from '../../pipeline/rollout/index.js';
import { policyRolloutView, type Condition } from '../../pipeline/rollout/kubernetes/index.js';
import type { FakeApiServer } from '../support/fake-kube-apiserver.js';
import { KEY, T0, TRUST } from '../node-agent/agent/fixtures.js';
import { kubeFleet } from './kube-fleet.js';
import { recordsAs, startApiWithCrds } from './kube-fixtures.js';

let api: FakeApiServer;
let fleet: ReturnType<typeof kubeFleet>;
beforeAll(async () => {
  api = await startApiWithCrds();
  fleet = kubeFleet(api, 4);
});
afterAll(async () => {
  fleet?.remove();
  expect(api.unexpected).toEqual([]);
  await api.close();
});

const spec: RolloutSpec = {
  waves: [
    { name: 'canary', select: { kind: 'labels', matchLabels: { 'palisade.io/canary': 'true' } }, bakeMs: 10_000, mode: 'enforce' },
    { name: 'half', select: { kind: 'percent', percent: 50 }, bakeMs: 10_000, mode: 'enforce' },
    { name: 'all', select: { kind: 'percent', percent: 100 }, bakeMs: 10_000, mode: 'enforce' },
  ],
  gates: { reportTimeoutMs: 60_000, metrics: [] },
};

type PolicyRollout = { metadata: { generation: number }; spec: { bundle: { serial: number } }; status: { observedGeneration: number; phase: string; conditions: Condition[]; waves: { name: string; phase: string; nodes: number }[]; blastRadius: unknown; state: unknown } };
const current = (): PolicyRollout => api.objects.get('policyrollouts/palisade/current') as unknown as PolicyRollout;
const cond = (type: Condition['type']): Condition => current().status.conditions.find((c) => c.type === type)!;

describe('rollout on the Kubernetes backend', () => {
  let now = T0.getTime() + 3_600_000;
  const records = () => recordsAs(api, 'controller', policyRolloutView(spec));
  const controller = () => new RolloutController({ bundles: fleet.bundles, records: records(), spec, now: () => now, log: () => undefined, makeRollback: rollbackMaker({ bundles: fleet.bundles, trust: TRUST.trust, keys: [KEY], now: () => now }) });
  /** Rounds of: agents poll and report, the controller ticks, 5 s pass. @returns the conditions after each tick. */
  async function rounds(n: number, c: RolloutController, until?: () => boolean): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < n && !until?.(); i++) {
      await fleet.agentsRound(now);
      await c.tick();
      const line = ['Ready', 'Progressing', 'Degraded'].map((t) => `${t}=${cond(t as Condition['type']).status}/${cond(t as Condition['type']).reason}`).join(' ');
      if (seen.at(-1) !== line) seen.push(line);
      now += 5_000;
    }
    return seen;
  }

  it('a good bundle goes wave by wave; the conditions follow; conflicts and errors on the way are retried', async () => {
    const c = controller();
    await fleet.agentsRound(now);
    await fleet.publish(1);
    await c.tick();
    expect(current().spec.bundle.serial).toBe(1);
    expect(current().status.observedGeneration).toBe(current().metadata.generation);
    expect(cond('Progressing')).toMatchObject({ status: 'True', reason: 'WaveReaching', message: 'wave 1 of 3 (canary) is being reached' });
    const readySince = cond('Ready').lastTransitionTime;

    // Injected on the way: a conflict on the controller's status write, one on an agent's report, API errors.
    api.failNext(/^PATCH .*\/policyrollouts\/current\/status$/, 1, 409);
    api.failNext(/^PATCH .*\/policynodes\/node-1\/status$/, 2, 409);
    api.failNext(/^GET .*\/policynodes\/node-2$/, 2, 500);
    api.failNext(/^PATCH .*\/policynodes\/node-3$/, 1, 503);
    const seen = await rounds(40, c, () => current().status.phase === 'completed');
    expect(current().status.phase).toBe('completed');
    // (Reaching the canary was seen above.)
    expect(seen).toEqual([
      'Ready=False/RolloutInProgress Progressing=True/WaveBaking Degraded=False/GatesPassing',
      'Ready=False/RolloutInProgress Progressing=True/WaveReaching Degraded=False/GatesPassing',
      'Ready=False/RolloutInProgress Progressing=True/WaveBaking Degraded=False/GatesPassing',
      'Ready=False/RolloutInProgress Progressing=True/WaveReaching Degraded=False/GatesPassing',
      'Ready=False/RolloutInProgress Progressing=True/WaveBaking Degraded=False/GatesPassing',
      'Ready=True/Completed Progressing=False/Completed Degraded=False/GatesPassing',
    ]);
    expect(cond('Ready').lastTransitionTime).not.toBe(readySince);
    expect(cond('Degraded').observedGeneration).toBe(current().metadata.generation);
    expect(current().status.waves).toEqual([
      { name: 'canary', phase: 'Promoted', nodes: 1 },
      { name: 'half', phase: 'Promoted', nodes: 1 },
      { name: 'all', phase: 'Promoted', nodes: 2 },
    ]);
    expect(parseRolloutState(current().status.state)?.promoted).toEqual([0, 1, 2]);
    for (const a of fleet.agents) expect(a.state.enforced?.serial).toBe(1);
    // Every injected failure was met, and every node's last report is there (none lost).
    expect(api.faultsLeft()).toBe(0);
    await fleet.agentsRound(now);
    for (const a of fleet.agents) expect(api.objects.get(`policynodes/palisade/${a.node}`)).toMatchObject({ spec: { bundle: { serial: 1 } }, status: { phase: 'active', bundle: { serial: 1 }, reportedAt: now } });
  }, 120_000);

  it('a bad bundle is stopped on the canary: Degraded with its blast radius, undone there, never sent further', async () => {
    const c = controller();
    const bad = await fleet.publish(2, true);
    const undone = (): boolean => fleet.agents[0]!.state.enforced?.bundleDigest === parseRolloutState(current().status.state)?.rollbackBundle?.digest;
    const seen = await rounds(20, c, undone);
    expect(undone()).toBe(true);
    expect(fleet.agents[0]!.told.has(bad.serial)).toBe(true);
    expect(seen[0]).toBe('Ready=False/RolloutInProgress Progressing=True/WaveReaching Degraded=False/GatesPassing');
    expect(seen.at(-1)).toBe('Ready=False/Aborted Progressing=False/Aborted Degraded=True/Aborted');
    expect(cond('Degraded').message).toBe('node node-0 rolled back bundle serial 2: health check failed: canary health check failed [bake-failed]');
    expect(current().status.blastRadius).toMatchObject({ nodes: ['node-0'], drops: 0 });
    expect(current().status.waves[0]).toEqual({ name: 'canary', phase: 'Aborted', nodes: 1 });
    const rollback = parseRolloutState(current().status.state)!.rollbackBundle!;
    expect(rollback.serial).toBe(1);
    expect(fleet.agents[0]!.state.enforced?.bundleDigest).toBe(rollback.digest);
    for (const a of fleet.agents.slice(1)) expect([...a.told]).toEqual([1]);
  }, 120_000);

  it('a newer bundle supersedes a running rollout: the old one is kept as PolicyRollout serial-<N>', async () => {
    const c = controller();
    await fleet.publish(3);
    await rounds(1, c);
    expect(parseRolloutState(current().status.state)).toMatchObject({ phase: 'progressing', bundle: { serial: 3 } });
    await fleet.publish(4);
    await rounds(1, c);
    expect(current().spec.bundle.serial).toBe(4);
    const past = api.objects.get('policyrollouts/palisade/serial-3') as unknown as PolicyRollout;
    expect(past.spec.bundle.serial).toBe(3);
    expect(past.status).toMatchObject({ phase: 'superseded', observedGeneration: past.metadata.generation });
    expect(past.status.conditions.map((x) => `${x.type}=${x.status}/${x.reason}`)).toEqual(['Ready=False/Superseded', 'Progressing=False/Superseded', 'Degraded=False/GatesPassing']);
    expect(await records().listRecords('rollout')).toEqual(['rollout', 'rollouts/3']);
    await rounds(40, c, () => current().status.phase === 'completed');
    expect(current().status.phase).toBe('completed');
  }, 120_000);
});
