/**
 * The records contract over Kubernetes objects (PolicyRollout and PolicyNode against the fake API server, which
 * checks them against the CRDs' schemas): create, read, compare-and-swap on resourceVersion, a target and a status
 * in one object that do not conflict with each other, concurrent writers that lose no update, conflicts and API
 * errors retried, and names this backend does not keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesRecordStore, StoreError } from '../../pipeline/stores/index.js';
import type { FakeApiServer } from '../support/fake-kube-apiserver.js';
import { kubeConfigAs, recordsAs, startApiWithCrds } from './kube-fixtures.js';

let api: FakeApiServer;
beforeAll(async () => {
  api = await startApiWithCrds();
});
afterAll(async () => {
  expect(api.unexpected).toEqual([]);
  await api.close();
});

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const status = (node: string, serial: number, reportedAt = 1): Record<string, unknown> => ({ node, bundle: { serial, digest: D('a') }, phase: 'active', mode: 'enforce', reportedAt, drops: 0, labels: { zone: 'a' } });
const target = (serial: number): Record<string, unknown> => ({ bundle: { serial, digest: D('b'), size: 10 }, mode: 'enforce', rollout: serial });

async function conflictOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StoreError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('records as Kubernetes objects', () => {
  it('a node status is created, read, and replaced only with the version read', async () => {
    const s = recordsAs(api, 'agent');
    expect(await s.getRecord('nodes/n1/status')).toBeUndefined();
    const v1 = await s.putRecord('nodes/n1/status', status('n1', 1), null);
    expect(await s.getRecord('nodes/n1/status')).toEqual({ value: status('n1', 1), version: v1 });
    expect(api.objects.get('policynodes/palisade/n1')).toMatchObject({ kind: 'PolicyNode', status: status('n1', 1) });
    expect(await conflictOf(s.putRecord('nodes/n1/status', status('n1', 2), null))).toBe('store-conflict');
    const v2 = await s.putRecord('nodes/n1/status', status('n1', 2), v1);
    expect(await conflictOf(s.putRecord('nodes/n1/status', status('n1', 3), v1))).toBe('store-conflict');
    expect((await s.getRecord('nodes/n1/status'))?.value).toEqual(status('n1', 2));
    // A report whose labels shrink replaces the old ones (a JSON patch replaces; a merge would keep them).
    await s.putRecord('nodes/n1/status', { ...status('n1', 2), labels: {} }, v2);
    expect((await s.getRecord('nodes/n1/status'))?.value).toMatchObject({ labels: {} });
  });

  it("the controller's target and the agent's status share an object without conflicting with each other", async () => {
    const agent = recordsAs(api, 'agent');
    const controller = recordsAs(api, 'controller');
    await agent.putRecord('nodes/n2/status', status('n2', 1), null);
    expect(await controller.listRecords('nodes/')).toContain('nodes/n2/status');
    expect(await controller.listRecords('nodes/')).not.toContain('nodes/n2/target');
    const t1 = await controller.putRecord('nodes/n2/target', target(1), null);
    // The agent reports in between: the object's resourceVersion moves, the target does not.
    const sv = (await agent.getRecord('nodes/n2/status'))!.version;
    await agent.putRecord('nodes/n2/status', status('n2', 1, 2), sv);
    const t2 = await controller.putRecord('nodes/n2/target', target(2), t1);
    expect((await agent.getRecord('nodes/n2/target'))?.value).toEqual(target(2));
    // ...but a target changed by someone else since it was read still conflicts.
    await controller.putRecord('nodes/n2/target', target(3), t2);
    expect(await conflictOf(controller.putRecord('nodes/n2/target', target(4), t2))).toBe('store-conflict');
    expect(await controller.listRecords('nodes/n2/')).toEqual(['nodes/n2/status', 'nodes/n2/target']);
    const obj = api.objects.get('policynodes/palisade/n2') as { spec: unknown; status: unknown };
    expect(obj.spec).toEqual(target(3));
    expect(obj.status).toEqual(status('n2', 1, 2));
  });

  it('concurrent read-modify-write loops on one record lose no update', async () => {
    const writers = Array.from({ length: 4 }, (_, i) => recordsAs(api, `w${i}`));
    await writers[0]!.putRecord('nodes/counter/status', { ...status('counter', 0), drops: 0 }, null);
    let conflicts = 0;
    await Promise.all(
      writers.map(async (s) => {
        for (let done = 0; done < 6; ) {
          const cur = (await s.getRecord('nodes/counter/status'))!;
          try {
            await s.putRecord('nodes/counter/status', { ...(cur.value as object), drops: (cur.value as { drops: number }).drops + 1 }, cur.version);
            done++;
          } catch (err) {
            if (!(err instanceof StoreError && err.code === 'store-conflict')) throw err;
            conflicts++;
          }
        }
      }),
    );
    expect((await writers[0]!.getRecord('nodes/counter/status'))?.value).toMatchObject({ drops: 24 });
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);

  it('a 409 between read and write is read again and retried; 500s are retried; a lasting 500 is an error', async () => {
    const s = recordsAs(api, 'agent');
    const v = await s.putRecord('nodes/n3/status', status('n3', 1), null);
    api.failNext(/^PATCH .*\/policynodes\/n3\/status$/, 2, 409);
    const v2 = await s.putRecord('nodes/n3/status', status('n3', 2), v);
    expect((await s.getRecord('nodes/n3/status'))).toEqual({ value: status('n3', 2), version: v2 });
    api.failNext(/^GET .*\/policynodes\/n3$/, 2, 500);
    api.failNext(/^PATCH .*\/policynodes\/n3\/status$/, 1, 503);
    await s.putRecord('nodes/n3/status', status('n3', 3), v2);
    expect((await s.getRecord('nodes/n3/status'))?.value).toEqual(status('n3', 3));
    expect(api.faultsLeft()).toBe(0);
    // Four attempts (the default), all failing.
    api.failNext(/^GET .*\/policynodes\/n3$/, 4, 500);
    const err = await s.getRecord('nodes/n3/status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store-protocol');
    expect((err as StoreError).message).toContain('HTTP 500');
    expect((await s.getRecord('nodes/n3/status'))?.value).toEqual(status('n3', 3));
  });

  it('a request without an answer is abandoned at its deadline and retried; a caller abandons at its signal', async () => {
    const s = new KubernetesRecordStore({ kubeConfig: kubeConfigAs(api, 'agent'), namespace: 'palisade', retryDelayMs: 10, requestTimeoutMs: 300, attempts: 2 });
    await s.putRecord('nodes/n5/status', status('n5', 1), null);
    api.failNext(/^GET .*\/policynodes\/n5$/, 1, 'hang');
    expect((await s.getRecord('nodes/n5/status'))?.value).toEqual(status('n5', 1));
    api.failNext(/^GET .*\/policynodes\/n5$/, 2, 'hang');
    expect(await conflictOf(s.getRecord('nodes/n5/status'))).toBe('store-timeout');
    api.failNext(/^GET .*\/policynodes\/n5$/, 1, 'hang');
    const slow = new KubernetesRecordStore({ kubeConfig: kubeConfigAs(api, 'agent'), namespace: 'palisade', requestTimeoutMs: 60_000 });
    expect(await conflictOf(slow.getRecord('nodes/n5/status', { signal: AbortSignal.timeout(200) }))).toBe('store-timeout');
    expect(api.faultsLeft()).toBe(0);
  });

  it('the rollout record is the PolicyRollout `current`; past rollouts are `serial-<N>`', async () => {
    const s = recordsAs(api, 'controller');
    const v = await s.putRecord('rollout', { version: 1, phase: 'progressing' }, null);
    expect(api.objects.get('policyrollouts/palisade/current')).toMatchObject({ kind: 'PolicyRollout', status: { state: { version: 1, phase: 'progressing' } } });
    await s.putRecord('rollout', { version: 1, phase: 'paused' }, v);
    await s.putRecord('rollouts/7', { version: 1, phase: 'superseded' }, null);
    expect(api.objects.has('policyrollouts/palisade/serial-7')).toBe(true);
    expect(await s.listRecords('rollout')).toEqual(['rollout', 'rollouts/7']);
    expect(await s.listRecords('rollouts/')).toEqual(['rollouts/7']);
    expect((await s.getRecord('rollout'))?.value).toEqual({ version: 1, phase: 'paused' });
  });

  it('refuses names it does not keep and values the CRD schema refuses', async () => {
    const s = recordsAs(api, 'controller');
    expect(await conflictOf(s.getRecord('other/thing'))).toBe('store-bad-input');
    expect(await conflictOf(s.putRecord('nodes/bad_node/status', {}, null))).toBe('store-bad-input');
    // A status without the fields the CRD requires: the API server answers 422, a protocol error here.
    expect(await conflictOf(s.putRecord('nodes/n4/status', { phase: 'dancing' }, null))).toBe('store-protocol');
  });
});
