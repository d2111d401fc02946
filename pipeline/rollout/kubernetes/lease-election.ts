/**
 * Leader election on a `coordination.k8s.io/v1` Lease, so that of several rollout controllers only one acts. The
 * rules are client-go's (tools/leaderelection): a Lease is taken over only when its record has not changed for a whole
 * `leaseDuration` as timed by this process's own clock (no trust in other machines' clocks); every write is a
 * replace carrying the `resourceVersion` that was read, so two candidates can never both win (the API server answers
 * 409 to the slower one); the leader renews every `retryPeriod` and steps down when it could not renew for
 * `renewDeadline` (shorter than `leaseDuration`, so it stops acting before anyone else may start); a clean shutdown
 * releases the Lease (empty holder) so the next candidate takes over at once instead of waiting out the duration.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';

/** Settings of {@link runLeaseElection}. Durations in milliseconds. */
export interface LeaseElectionOptions {
  readonly api: CoordinationV1Api;
  readonly namespace: string;
  readonly name: string;
  /** This candidate's identity (pod name, host name + pid...): unique among candidates. */
  readonly identity: string;
  /** How long a Lease whose record does not change stays held (default 15 s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it steps down (default 10 s; below leaseDurationMs). */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew (default 2 s). */
  readonly retryPeriodMs?: number;
  /**
   * Called when this candidate becomes the leader; `leadership` aborts when it stops being the leader (lost the
   * Lease, or the election was stopped). Work must stop acting on the world when it aborts. When it returns a
   * promise, the election waits for it to settle after `leadership` aborted before it releases the Lease or
   * campaigns again, so no write of the old term can land after the hand-over.
   */
  readonly onStartedLeading: (leadership: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (after `leadership` aborted). */
  readonly onStoppedLeading?: () => void;
  /** One line per transition (acquired, lost, released, API errors). */
  readonly log?: (line: string) => void;
  /** The local monotonic-enough clock, ms (default Date.now). */
  readonly now?: () => number;
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * Campaigns for the Lease until `signal` aborts, leading whenever it holds it. On abort, a leader releases the Lease.
 * @returns when `signal` has aborted and any held Lease has been released (or the release failed, logged).
 * @throws RangeError when renewDeadlineMs is not below leaseDurationMs.
 */
export async function runLeaseElection(options: LeaseElectionOptions, signal: AbortSignal): Promise<void> {
  const o = { ...DEFAULTS, ...options };
  if (o.renewDeadlineMs >= o.leaseDurationMs) throw new RangeError('renewDeadlineMs must be below leaseDurationMs');
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const observer = new LeaseObserver(now);
  while (!signal.aborted) {
    // Candidate: try until we hold the Lease.
    if (!(await tryAcquireOrRenew(o, observer, now, log))) {
      await sleep(jittered(o.retryPeriodMs), signal);
      continue;
    }
    log(`leader election: ${o.identity} acquired lease ${o.namespace}/${o.name}`);
    const leadership = new AbortController();
    const work = o.onStartedLeading(leadership.signal);
    let lastRenew = now();
    while (!signal.aborted) {
      await sleep(o.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await tryAcquireOrRenew(o, observer, now, log)) {
        lastRenew = now();
      } else if (now() - lastRenew >= o.renewDeadlineMs) {
        log(`leader election: ${o.identity} lost lease ${o.namespace}/${o.name} (no renewal for ${now() - lastRenew} ms)`);
        break;
      }
    }
    leadership.abort();
    await Promise.resolve(work).catch((err: unknown) => log(`leader election: the leader's work failed: ${describe(err)}`));
    o.onStoppedLeading?.();
    if (signal.aborted) await release(o, observer, log);
  }
}

/** What this candidate last saw of the Lease, timed by its own clock (client-go's observedRecord/observedTime). */
class LeaseObserver {
  lease: V1Lease | undefined;
  #record = '';
  #observedAt = 0;
  constructor(private readonly now: () => number) {}

  observe(lease: V1Lease): void {
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity ?? '', String(s.renewTime ?? ''), s.leaseDurationSeconds ?? 0, s.leaseTransitions ?? 0]);
    if (record !== this.#record) {
      this.#record = record;
      this.#observedAt = this.now();
    }
    this.lease = lease;
  }

  /** True while another holder's record has changed within its lease duration (by our clock). */
  heldByOther(identity: string): boolean {
    const s = this.lease?.spec;
    const holder = s?.holderIdentity ?? '';
    if (holder === '' || holder === identity) return false;
    return this.now() < this.#observedAt + (s?.leaseDurationSeconds ?? 0) * 1000;
  }
}

async function tryAcquireOrRenew(o: Required<Pick<LeaseElectionOptions, 'api' | 'namespace' | 'name' | 'identity'>> & typeof DEFAULTS, observer: LeaseObserver, now: () => number, log: (l: string) => void): Promise<boolean> {
  const at = new V1MicroTime(now());
  const spec = { holderIdentity: o.identity, leaseDurationSeconds: Math.ceil(o.leaseDurationMs / 1000), acquireTime: at, renewTime: at, leaseTransitions: 0 };
  let current: V1Lease;
  try {
    current = await o.api.readNamespacedLease({ name: o.name, namespace: o.namespace });
  } catch (err) {
    if (statusOf(err) !== 404) {
      log(`leader election: reading lease ${o.namespace}/${o.name} failed: ${describe(err)}`);
      return false;
    }
    try {
      const created = await o.api.createNamespacedLease({ namespace: o.namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: o.name, namespace: o.namespace }, spec } });
      observer.observe(created);
      return true;
    } catch (e) {
      if (statusOf(e) !== 409) log(`leader election: creating lease ${o.namespace}/${o.name} failed: ${describe(e)}`);
      return false;
    }
  }
  observer.observe(current);
  if (observer.heldByOther(o.identity)) return false;
  const old = current.spec ?? {};
  const mine = old.holderIdentity === o.identity;
  const next: V1Lease = {
    ...current,
    spec: { ...old, ...spec, acquireTime: mine && old.acquireTime ? old.acquireTime : at, leaseTransitions: (old.leaseTransitions ?? 0) + (mine ? 0 : 1) },
  };
  try {
    observer.observe(await o.api.replaceNamespacedLease({ name: o.name, namespace: o.namespace, body: next }));
    return true;
  } catch (err) {
    // 409: someone else wrote the Lease since we read it; they won this round.
    if (statusOf(err) !== 409) log(`leader election: updating lease ${o.namespace}/${o.name} failed: ${describe(err)}`);
    return false;
  }
}

async function release(o: Required<Pick<LeaseElectionOptions, 'api' | 'namespace' | 'name' | 'identity'>>, observer: LeaseObserver, log: (l: string) => void): Promise<void> {
  const lease = observer.lease;
  if (!lease || lease.spec?.holderIdentity !== o.identity) return;
  const at = new V1MicroTime();
  try {
    await o.api.replaceNamespacedLease({ name: o.name, namespace: o.namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: at } } });
    log(`leader election: ${o.identity} released lease ${o.namespace}/${o.name}`);
  } catch (err) {
    log(`leader election: releasing lease ${o.namespace}/${o.name} failed (it expires by itself): ${describe(err)}`);
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function describe(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}`;
  const e = err as Error;
  return (e.cause as Error | undefined)?.message ?? e.message ?? String(err);
}

function jittered(ms: number): number {
  return ms * (1 + Math.random() * 0.2);
}

/** Waits `ms`, or less when `signal` aborts first (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}
