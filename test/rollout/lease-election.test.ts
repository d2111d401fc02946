/**
 * Leader election on a coordination.k8s.io/v1 Lease against the fake API server (real HTTPS, resourceVersion
 * conflicts): one leader at a time, clean hand-over on release, take-over after a leader dies — with two processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLeaseElection } from '../../pipeline/rollout/kubernetes/lease-election.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-kube-apiserver.js';

const ELECT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'elect.mjs');
let api: FakeApiServer;
beforeAll(async () => {
  api = await startFakeApiServer();
});
afterAll(async () => {
  expect(api.unexpected).toEqual([]);
  await api.close();
});

function client(): CoordinationV1Api {
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  return kc.makeApiClient(CoordinationV1Api);
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const holder = (name: string): string | undefined => (api.objects.get(`leases/palisade/${name}`)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

describe('lease election (in process)', () => {
  it('one leader; the other waits; a released lease passes to the other at once', async () => {
    const leading = new Set<string>();
    const overlaps: string[] = [];
    const candidate = (identity: string): { stop: AbortController; done: Promise<void> } => {
      const stop = new AbortController();
      const done = runLeaseElection(
        {
          api: client(),
          namespace: 'palisade',
          name: 'in-process',
          identity,
          leaseDurationMs: 60_000,
          renewDeadlineMs: 40_000,
          retryPeriodMs: 100,
          onStartedLeading: (leadership) => {
            if (leading.size > 0) overlaps.push(`${identity} started while ${[...leading].join(',')} led`);
            leading.add(identity);
            leadership.addEventListener('abort', () => leading.delete(identity));
          },
        },
        stop.signal,
      );
      return { stop, done };
    };
    const a = candidate('a');
    await until('a leads', () => leading.has('a'));
    const b = candidate('b');
    // b keeps trying for a while (retry 100 ms) without taking a live lease.
    await new Promise((r) => setTimeout(r, 1_000));
    expect([...leading]).toEqual(['a']);
    expect(holder('in-process')).toBe('a');
    a.stop.abort();
    await a.done;
    // The lease duration is 60 s: b can only lead this soon because a released it.
    await until('b leads', () => leading.has('b'), 10_000);
    expect(holder('in-process')).toBe('b');
    const spec = api.objects.get('leases/palisade/in-process')!.spec as { leaseTransitions: number };
    expect(spec.leaseTransitions).toBe(1);
    b.stop.abort();
    await b.done;
    expect(holder('in-process')).toBe('');
    expect(overlaps).toEqual([]);
  });

  it('refuses a renew deadline that is not below the lease duration', async () => {
    await expect(
      runLeaseElection({ api: client(), namespace: 'palisade', name: 'x', identity: 'x', leaseDurationMs: 1_000, renewDeadlineMs: 1_000, onStartedLeading: () => undefined }, new AbortController().signal),
    ).rejects.toThrowError(RangeError);
  });
});

describe('lease election (two processes)', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

  function start(identity: string): { child: ChildProcess; lines: string[] } {
    const child = spawn(process.execPath, [ELECT, identity], { env: { ...process.env, KUBECONFIG_TEXT: api.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const lines: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    child.stderr!.resume();
    return { child, lines };
  }

  it('only the holder leads; killed with -9, the other takes over once the lease expires; SIGTERM hands over cleanly', async () => {
    const p = start('p');
    const q = start('q');
    await until('a leader', () => p.lines.includes('LEADING p') || q.lines.includes('LEADING q'));
    await new Promise((r) => setTimeout(r, 1_000));
    const [leader, other] = p.lines.includes('LEADING p') ? [p, q] : [q, p];
    const leaderId = leader === p ? 'p' : 'q';
    const otherId = leader === p ? 'q' : 'p';
    expect(other.lines).toEqual([]);
    expect(holder('rollout-controller')).toBe(leaderId);

    const exited = new Promise((r) => leader.child.once('exit', r));
    leader.child.kill('SIGKILL');
    await exited;
    await until(`${otherId} takes over`, () => other.lines.includes(`LEADING ${otherId}`));
    expect(holder('rollout-controller')).toBe(otherId);

    // A third candidate, then a clean stop of the leader: the lease is released and passes on.
    const r = start('r');
    await new Promise((res) => setTimeout(res, 800));
    expect(r.lines).toEqual([]);
    const stopped = new Promise<number | null>((res) => other.child.once('exit', res));
    other.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
    expect(other.lines).toEqual([`LEADING ${otherId}`, `STOPPED ${otherId}`]);
    await until('r takes over', () => r.lines.includes('LEADING r'));
    r.child.kill('SIGTERM');
  }, 60_000);
});
