/**
 * The apply cycle on the table-lookup datapath, with real bundles, a real filesystem store, the real bundle gate and
 * table compiler and a real state directory: every transition — commit, each kind of rejection (gate, compile, map,
 * self-test a and b), bake failure and the switch back, a crash before commit and the restart that adopts what was
 * committed, endpoint churn in place and restaged, an unreachable store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { applyBundle } from '../../../node-agent/agent/apply.js';
import { adopt } from '../../../node-agent/agent/adopt.js';
import { reconcileEndpoints } from '../../../node-agent/agent/reconcile.js';
import { TableDatapath } from '../../../node-agent/agent/table-datapath.js';
import { openStore } from '../../../pipeline/stores/index.js';
import { ENDPOINTS, KEY, OTHER_KEY, POLICY_9090, bundleOf, deps, doctoredBundle, freshState, pod, publish, scratch, steppingClock } from './fixtures.js';

const web = (dport: number) => ({ direction: 'egress' as const, localIp: '10.1.0.1', peerIp: '10.1.0.2', protocol: 6, dport });
const toApi = (dport: number) => ({ direction: 'ingress' as const, localIp: '10.1.0.2', peerIp: '10.1.0.1', protocol: 6, dport });
const verdictOf = (dp: TableDatapath, p: Parameters<TableDatapath['send']>[0]) => {
  const d = dp.send(p);
  return d.judged ? d.verdict : 'unjudged';
};

describe('apply cycle', () => {
  let s: ReturnType<typeof scratch>;
  afterEach(() => s?.remove());

  test('a good bundle goes through every step, is enforced and committed as last-known-good', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d, steps, log } = deps(s, dp);
    const desc = await publish(s.store, 1, bundleOf(1, [KEY]));
    const r = await applyBundle(d, freshState(), desc);
    expect(r.outcome.kind).toBe('committed');
    expect(steps).toEqual(['fetch', 'verify', 'compile', 'stage', 'self-test', 'activate', 'bake', 'commit']);
    expect(dp.activeGeneration()).toBe(1);
    expect(dp.attached.sort()).toEqual(['pld-api', 'pld-web']);
    expect(verdictOf(dp, web(8080))).toBe('forwarded');
    expect(verdictOf(dp, toApi(8080))).toBe('forwarded');
    expect(verdictOf(dp, web(8081))).toBe('dropped');
    const persisted = await s.state.read();
    expect(persisted.enforced?.record).toMatchObject({ serial: 1, generation: 1, bundleDigest: desc.digest });
    expect(persisted.trusted).toMatchObject({ minSerial: 1, minRollbackOf: 1 });
    expect(r.state.trusted.minSerial).toBe(1);
    expect(log.lines.some((l) => l.startsWith('info committed serial 1'))).toBe(true);
    // The same bundle again is not re-applied.
    expect((await applyBundle(d, r.state, desc)).outcome).toEqual({ kind: 'skipped', why: 'already-enforced' });
  });

  test('gate rejections leave the running generation untouched, are recorded with their code, and are not retried', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d } = deps(s, dp);
    const first = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    const wrongKey = await publish(s.store, 2, bundleOf(2, [OTHER_KEY], POLICY_9090));
    const r = await applyBundle(d, first.state, wrongKey);
    expect(r.outcome.kind).toBe('rejected');
    expect(r.outcome.kind === 'rejected' && r.outcome.record).toMatchObject({ step: 'verify', code: 'bundle-unknown-key', serial: null });
    expect(dp.activeGeneration()).toBe(1);
    expect(dp.serial).toBe(1);
    expect(verdictOf(dp, toApi(9090))).toBe('dropped');
    expect((await s.state.read()).rejections.map((x) => x.code)).toEqual(['bundle-unknown-key']);
    expect((await applyBundle(d, r.state, wrongKey)).outcome).toEqual({ kind: 'skipped', why: 'already-rejected' });

    // An expired bundle, and (after serial 4) a replay of serial 1 signed anew, are refused the same way.
    const expired = await publish(s.store, 3, bundleOf(3, [KEY], POLICY_9090, { expiresAt: new Date(Date.UTC(2026, 10, 28, 10, 30)) }));
    expect((await applyBundle(d, r.state, expired)).outcome).toMatchObject({ kind: 'rejected', record: { code: 'bundle-expired' } });
    const fourth = await applyBundle(d, r.state, await publish(s.store, 4, bundleOf(4, [KEY], POLICY_9090)));
    expect(fourth.outcome.kind).toBe('committed');
    const other = scratch();
    try {
      const replay = await publish(other.store, 1, bundleOf(1, [KEY]));
      const rr = await applyBundle({ ...d, store: other.store }, fourth.state, replay);
      expect(rr.outcome).toMatchObject({ kind: 'rejected', record: { code: 'bundle-rollback', step: 'verify' } });
    } finally {
      other.remove();
    }
    expect(dp.serial).toBe(4);
  });

  test('a signed rollback bundle is accepted below nothing it reverts; the bundle it rolled back stays refused', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d } = deps(s, dp);
    const one = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    const bad = await applyBundle(d, one.state, await publish(s.store, 2, bundleOf(2, [KEY], POLICY_9090)));
    expect(verdictOf(dp, toApi(9090))).toBe('forwarded');
    const back = await applyBundle(d, bad.state, await publish(s.store, 3, bundleOf(3, [KEY], undefined, { rollbackOf: 2 })));
    expect(back.outcome).toMatchObject({ kind: 'committed', record: { serial: 3, rollbackOf: 2 } });
    expect(verdictOf(dp, toApi(9090))).toBe('dropped');
    expect(back.state.trusted).toMatchObject({ minSerial: 3, minRollbackOf: 2 });
    const other = scratch();
    try {
      const replayed = await applyBundle({ ...d, store: other.store }, back.state, await publish(other.store, 2, bundleOf(2, [KEY], POLICY_9090)));
      expect(replayed.outcome).toMatchObject({ kind: 'rejected', record: { code: 'bundle-rollback' } });
    } finally {
      other.remove();
    }
    expect(dp.serial).toBe(3);
  });

  test('map overflow at compile time and at staging is refused before anything is activated', async () => {
    s = scratch();
    const small = new TableDatapath({ maxPolicyEntries: 1 });
    const { deps: d } = deps(s, small);
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    expect(r.outcome).toMatchObject({ kind: 'rejected', record: { step: 'stage', code: 'map-full' } });
    expect(small.generation(1)).toBeNull();
    expect(small.attached).toEqual([]);

    const dp = new TableDatapath();
    const { deps: d2 } = deps(s, dp);
    const r2 = await applyBundle({ ...d2, compileOptions: { maxEntriesPerEndpoint: 1 } }, freshState(), await publish(s.store, 2, bundleOf(2, [KEY])));
    expect(r2.outcome).toMatchObject({ kind: 'rejected', record: { step: 'compile', code: 'policy-map-overflow' } });
    expect(dp.generation(0)).toBeNull();
    expect(dp.generation(1)).toBeNull();
  });

  test('a doctored-but-signed bundle fails self-test (a) and is never activated; the first differing probe is named', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d } = deps(s, dp);
    const first = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    const r = await applyBundle(d, first.state, await publish(s.store, 2, doctoredBundle(2, [KEY])));
    expect(r.outcome).toMatchObject({ kind: 'rejected', record: { step: 'self-test', code: 'self-test-mismatch', serial: 2 } });
    expect(r.outcome.kind === 'rejected' && r.outcome.record.message).toMatch(/^signed probe \d+ \(.+\): expected FORWARDED, the datapath gave DROPPED POLICY_DENIED at \w+$/);
    expect(dp.activeGeneration()).toBe(1);
    expect(dp.serial).toBe(1);
    // The trusted state did not move: serial 2 was never accepted.
    expect((await s.state.read()).trusted?.minSerial).toBe(1);
  });

  test('a datapath that loses staged entries fails self-test (b) on the live endpoints and is never activated', async () => {
    s = scratch();
    const dp = new TableDatapath({ loseOnStage: (e) => e.direction === 'ingress' && e.port === 8080 });
    const { deps: d } = deps(s, dp);
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    expect(r.outcome).toMatchObject({ kind: 'rejected', record: { step: 'self-test', code: 'self-test-mismatch' } });
    expect(r.outcome.kind === 'rejected' && r.outcome.record.message).toMatch(/^live probe \d+ \(shop\/web \(10\.1\.0\.1\) → shop\/api \(10\.1\.0\.2\) TCP 8080\): expected FORWARDED, the datapath gave DROPPED POLICY_DENIED at ingress$/);
    expect(dp.attached).toEqual([]);
  });

  test('a failed health check during bake switches back to the last-known-good automatically', async () => {
    s = scratch();
    const dp = new TableDatapath();
    let healthy = true;
    const { deps: d, log } = deps(s, dp, { bake: { health: async () => (healthy ? null : 'HTTP 503 from http://127.0.0.1/health') } });
    const first = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    healthy = false;
    const desc2 = await publish(s.store, 2, bundleOf(2, [KEY], POLICY_9090));
    const r = await applyBundle(d, first.state, desc2);
    expect(r.outcome.kind).toBe('rolled-back');
    expect(r.outcome.kind === 'rolled-back' && r.outcome.rollback).toMatchObject({ fromSerial: 2, toSerial: 1, reason: 'bake-failed' });
    expect(dp.activeGeneration()).toBe(1);
    expect(dp.serial).toBe(1);
    expect(verdictOf(dp, toApi(9090))).toBe('dropped');
    const persisted = await s.state.read();
    expect(persisted.enforced?.record.serial).toBe(1);
    expect(persisted.rollback).toMatchObject({ reason: 'bake-failed', fromSerial: 2, toSerial: 1 });
    expect(persisted.rejections.at(-1)).toMatchObject({ bundleDigest: desc2.digest, step: 'bake', code: 'bake-failed' });
    expect(log.lines.some((l) => l.startsWith('warn rolled back from serial 2 to serial 1'))).toBe(true);
  });

  test('policy drops above the bake limit fail the bake; with no earlier bundle the agent stops enforcing', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const clock = steppingClock(() => dp.send(web(22)));
    const { deps: d } = deps(s, dp, { clock, bake: { maxPolicyDrops: 0 } });
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    expect(r.outcome).toMatchObject({ kind: 'rolled-back', rollback: { toSerial: null, reason: 'bake-failed' } });
    expect(r.outcome.kind === 'rolled-back' && r.outcome.rejection.message).toBe('1 packets dropped by policy, more than the 0 allowed');
    expect(dp.attached).toEqual([]);
    expect(verdictOf(dp, web(22))).toBe('unjudged');
  });

  test('a crash after activation, before commit: the restarted agent switches back to what was committed', async () => {
    s = scratch();
    const dp = new TableDatapath(); // the pinned maps outlive the process
    const first = await applyBundle(deps(s, dp).deps, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    expect(first.outcome.kind).toBe('committed');
    const crash = new Error('SIGKILL');
    const { deps: dying } = deps(s, dp, { beforeStep: (step) => { if (step === 'commit') throw crash; } });
    await expect(applyBundle(dying, first.state, await publish(s.store, 2, bundleOf(2, [KEY], POLICY_9090)))).rejects.toBe(crash);
    expect(dp.serial).toBe(2); // serial 2 was enforcing, never committed

    const { deps: d, log } = deps(s, dp);
    const state = await adopt(d, await s.state.read(), { activeGen: dp.activeGeneration(), serial: dp.serial });
    expect(state.enforced?.serial).toBe(1);
    expect(dp.serial).toBe(1);
    expect(verdictOf(dp, toApi(9090))).toBe('dropped');
    expect(verdictOf(dp, toApi(8080))).toBe('forwarded');
    expect(state.lastRollback).toMatchObject({ fromSerial: 2, toSerial: 1, reason: 'restart-uncommitted' });
    expect(state.trusted.minSerial).toBe(1);
    expect(log.lines).toContain('info re-verified last-known-good serial 1 (' + state.enforced!.manifestDigest + ')');
    // Serial 2 was never committed, so it is applied again (and this time committed).
    const again = await applyBundle(d, state, (await s.store.latest())!);
    expect(again.outcome.kind).toBe('committed');
    expect(verdictOf(dp, toApi(9090))).toBe('forwarded');
  });

  test('a restart with nothing changed re-verifies and adopts the committed bundle', async () => {
    s = scratch();
    const dp = new TableDatapath();
    await applyBundle(deps(s, dp).deps, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    const { deps: d, log } = deps(s, dp);
    const state = await adopt(d, await s.state.read(), { activeGen: dp.activeGeneration(), serial: dp.serial });
    expect(state.enforced).toMatchObject({ serial: 1, generation: 0 });
    expect(state.lastRollback).toBeNull();
    expect(log.lines.at(-1)).toBe('info adopted serial 1: enforcing generation 0');
    expect((await s.state.read()).enforced?.record.generation).toBe(0);
  });

  test('endpoint churn: a peer pod changes address in place; a relabelled local pod restages the generation', async () => {
    s = scratch();
    const dp = new TableDatapath();
    let endpoints = ENDPOINTS;
    const { deps: d } = deps(s, dp, { endpoints: () => endpoints });
    const first = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])));
    // db moves to another address: ipcache rows only.
    endpoints = { pods: [ENDPOINTS.pods[0]!, pod('db', 'db', ['10.2.0.10']), ENDPOINTS.pods[2]!] };
    const moved = await reconcileEndpoints(d, first.state, endpoints);
    expect(moved.outcome).toBe('in-place');
    expect(dp.activeGeneration()).toBe(1);
    // web is relabelled: its egress rules go away, so api's ingress from it no longer matches either.
    endpoints = { pods: [ENDPOINTS.pods[0]!, pod('db', 'db', ['10.2.0.10']), pod('web', 'other', ['10.1.0.1'], 'pld-web')] };
    const relabelled = await reconcileEndpoints(d, moved.state, endpoints);
    expect(relabelled.outcome).toBe('restaged');
    expect(dp.activeGeneration()).toBe(0);
    expect(verdictOf(dp, toApi(8080))).toBe('dropped');
    expect((await s.state.read()).enforced?.record.generation).toBe(0);
    // A vanished local pod (interface gone) is no longer attached, and the agent carries on.
    endpoints = { pods: [ENDPOINTS.pods[0]!] };
    expect((await reconcileEndpoints(d, relabelled.state, endpoints)).outcome).toBe('restaged');
    expect(dp.attached).toEqual(['pld-api']);
  });

  test('an unreachable store is neither a rejection nor a change', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d } = deps(s, dp);
    const down = openStore('http://127.0.0.1:9/');
    const r = await applyBundle({ ...d, store: down }, freshState(), { serial: 1, digest: `sha256:${'a'.repeat(64)}`, size: 1000 });
    expect(r.outcome).toMatchObject({ kind: 'store-unreachable', code: 'store-unreachable' });
    expect(r.state.rejected.size).toBe(0);
    expect(existsSync(join(s.state.dir, 'rejections.json'))).toBe(false);
  });

  test('state files are written whole (JSON a reader can parse) and name the bundle', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const desc = await publish(s.store, 1, bundleOf(1, [KEY]));
    await applyBundle(deps(s, dp).deps, freshState(), desc);
    const enforced = JSON.parse(readFileSync(join(s.state.dir, 'enforced.json'), 'utf8'));
    expect(enforced).toMatchObject({ version: 1, serial: 1, bundleDigest: desc.digest, commit: '0123456789abcdef0123456789abcdef01234567' });
  });
});
