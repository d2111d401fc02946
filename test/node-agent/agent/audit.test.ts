/**
 * Audit first, then enforce, in the apply cycle (table-lookup datapath, real bundles, store, gate, compiler and
 * state directory): a bundle applied in audit forwards its would-be drops as AUDIT and counts them, is persisted in
 * audit and adopted so after a restart; the switch to enforce is self-tested, one write, and persisted; scoping to a
 * namespace audits only its pods; a datapath that does not audit is caught by the self-test before anything runs.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { adopt } from '../../../node-agent/agent/adopt.js';
import { applyBundle } from '../../../node-agent/agent/apply.js';
import { reconcileEndpoints } from '../../../node-agent/agent/reconcile.js';
import { switchAudit } from '../../../node-agent/agent/switch-audit.js';
import { TableDatapath } from '../../../node-agent/agent/table-datapath.js';
import type { AuditScope } from '../../../pipeline/core/evaluate/index.js';
import type { CompiledTables } from '../../../pipeline/core/compile/index.js';
import type { Generation } from '../../../node-agent/datapath/index.js';
import type { LiveProbe } from '../../../node-agent/agent/self-test.js';
import { ENDPOINTS, KEY, bundleOf, deps, freshState, pod, publish, scratch } from './fixtures.js';

const web = (dport: number) => ({ direction: 'egress' as const, localIp: '10.1.0.1', peerIp: '10.1.0.2', protocol: 6, dport });
const toApi = (dport: number) => ({ direction: 'ingress' as const, localIp: '10.1.0.2', peerIp: '10.1.0.1', protocol: 6, dport });
const verdictOf = (dp: TableDatapath, p: Parameters<TableDatapath['send']>[0]) => {
  const d = dp.send(p);
  return d.judged ? `${d.verdict}${d.dropReason ? ` ${d.dropReason}` : ''}` : 'unjudged';
};
const ALL: AuditScope = { kind: 'all' };

/** api in namespace payments accepts 8080 from shop/web; shop/web may open 8080 to it. */
const TWO_NAMESPACES = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: payments}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web, "k8s:io.kubernetes.pod.namespace": shop}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toEndpoints: [{matchLabels: {app: api, "k8s:io.kubernetes.pod.namespace": payments}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`;

/** A datapath whose live self-test ignores the audit asked (as a datapath without audit support would judge). */
class NoAuditDatapath extends TableDatapath {
  override async selfTestLive(gen: Generation, tables: CompiledTables, probes: readonly LiveProbe[]) {
    return super.selfTestLive(gen, tables, probes);
  }
}

describe('audit in the apply cycle', () => {
  let s: ReturnType<typeof scratch>;
  afterEach(() => s?.remove());

  test('applied in audit: would-be drops are forwarded as AUDIT and counted apart; the switch to enforce drops them', async () => {
    s = scratch();
    const dp = new TableDatapath();
    const { deps: d, log } = deps(s, dp, { bake: { maxPolicyDrops: 0 } });
    const desc = await publish(s.store, 1, bundleOf(1, [KEY]));
    const r = await applyBundle(d, freshState(), desc, ALL);
    expect(r.outcome.kind).toBe('committed');
    expect(r.state.enforced?.audit).toEqual(ALL);
    expect((await s.state.read()).enforced?.record.audit).toEqual(ALL);
    expect(dp.auditMode()).toBe('all');
    expect(verdictOf(dp, web(8080))).toBe('forwarded');
    expect(verdictOf(dp, web(8081))).toBe('audit POLICY_DENIED');
    expect(verdictOf(dp, toApi(9090))).toBe('audit POLICY_DENIED');
    expect([dp.auditedDrops(1), dp.policyDrops(1)]).toEqual([2, 0]);
    expect(log.lines.some((l) => l.includes('in generation 1 in audit (every endpoint)'))).toBe(true);

    // The next step enforces the same bundle: no restage, one switch, persisted.
    const e = await switchAudit(d, r.state, undefined);
    expect(e.outcome).toBe('switched');
    expect(dp.activeGeneration()).toBe(1);
    expect(dp.auditMode()).toBe('off');
    expect(verdictOf(dp, web(8081))).toBe('dropped POLICY_DENIED');
    expect(verdictOf(dp, web(8080))).toBe('forwarded');
    expect(e.state.enforced?.audit).toBeUndefined();
    expect((await s.state.read()).enforced?.record).not.toHaveProperty('audit');
    expect((await switchAudit(d, e.state, undefined)).outcome).toBe('unchanged');
  });

  test('a switch to enforce whose bake fails switches back to audit by itself and is reported rolled back', async () => {
    s = scratch();
    const dp = new TableDatapath();
    // The health check fails once the bundle enforces (as a real check would when enforcing breaks a dependency).
    const { deps: d, log } = deps(s, dp, { bake: { health: async () => (dp.auditMode() === 'off' ? 'api unreachable' : null) } });
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])), ALL);
    expect(r.outcome.kind).toBe('committed');
    const e = await switchAudit(d, r.state, undefined);
    expect(e.outcome).toBe('rolled-back');
    expect(dp.auditMode()).toBe('all');
    expect(verdictOf(dp, web(8081))).toBe('audit POLICY_DENIED');
    expect(e.state.enforced?.audit).toEqual(ALL);
    expect(e.state.rejected.get(r.state.enforced!.bundleDigest)).toMatchObject({ step: 'bake', code: 'bake-failed' });
    expect(e.state.lastRollback).toMatchObject({ fromSerial: 1, toSerial: 1, reason: 'bake-failed', message: 'switched back to audit (every endpoint): health check failed: api unreachable' });
    expect((await s.state.read()).enforced?.record.audit).toEqual(ALL);
    expect(log.lines.some((l) => l.includes('the bake in enforce failed, switched back to audit'))).toBe(true);
  });

  test('audit scoped to a namespace: its pods audit, the others enforce the same bundle', async () => {
    s = scratch();
    const dp = new TableDatapath();
    // api in namespace payments, web in shop: only api audits.
    const endpoints = { pods: [pod('api', 'api', ['10.1.0.2'], 'pld-api', 'payments'), pod('web', 'web', ['10.1.0.1'], 'pld-web')] };
    const { deps: d } = deps(s, dp, { endpoints: () => endpoints });
    const scope: AuditScope = { kind: 'namespaces', namespaces: ['payments'] };
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY], TWO_NAMESPACES)), scope);
    expect(r.outcome.kind).toBe('committed');
    expect(dp.auditMode()).toBe('flagged');
    expect(verdictOf(dp, toApi(8080))).toBe('forwarded');
    expect(verdictOf(dp, web(8080))).toBe('forwarded');
    expect(verdictOf(dp, toApi(9090))).toBe('audit POLICY_DENIED');
    expect(verdictOf(dp, web(8081))).toBe('dropped POLICY_DENIED');
    // Endpoint churn keeps the scope: the restaged generation still audits payments only.
    const moved = { pods: [pod('api', 'api', ['10.1.0.3'], 'pld-api', 'payments'), pod('web', 'web', ['10.1.0.1'], 'pld-web')] };
    const c = await reconcileEndpoints({ ...d, endpoints: () => moved }, r.state, moved);
    expect(c.outcome).toBe('restaged');
    expect(verdictOf(dp, { ...toApi(9090), localIp: '10.1.0.3' })).toBe('audit POLICY_DENIED');
    expect(verdictOf(dp, web(8081))).toBe('dropped POLICY_DENIED');
  });

  test('a restarted agent adopts the bundle in the mode it was committed in', async () => {
    s = scratch();
    const first = new TableDatapath();
    const { deps: d1 } = deps(s, first);
    await applyBundle(d1, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])), ALL);
    const dp = new TableDatapath();
    const { deps: d2 } = deps(s, dp);
    const state = await adopt(d2, await s.state.read(), { activeGen: 1, serial: 1 });
    expect(state.enforced?.audit).toEqual(ALL);
    expect(verdictOf(dp, web(8081))).toBe('audit POLICY_DENIED');
  });

  test('the self-test proves the audit: a datapath that would drop instead of audit is refused before activation', async () => {
    s = scratch();
    const dp = new NoAuditDatapath();
    const { deps: d } = deps(s, dp, { endpoints: () => ENDPOINTS });
    const r = await applyBundle(d, freshState(), await publish(s.store, 1, bundleOf(1, [KEY])), ALL);
    expect(r.outcome).toMatchObject({ kind: 'rejected', record: { step: 'self-test', code: 'self-test-mismatch' } });
    expect(r.outcome.kind === 'rejected' && r.outcome.record.message).toMatch(/live probe \d+ .*expected AUDIT POLICY_DENIED at (egress|ingress), the datapath gave DROPPED/);
    expect(dp.serial).toBe(0);
    // Enforcing, the same datapath passes; asked to audit afterwards, its switch is refused and it keeps enforcing.
    const e = await applyBundle(d, freshState(), await publish(s.store, 2, bundleOf(2, [KEY])));
    expect(e.outcome.kind).toBe('committed');
    const sw = await switchAudit(d, e.state, ALL);
    expect(sw.outcome).toBe('rejected');
    expect(sw.state.rejected.get(e.state.enforced!.bundleDigest)).toMatchObject({ code: 'self-test-mismatch' });
    expect(dp.auditMode()).toBe('off');
    expect(verdictOf(dp, web(8081))).toBe('dropped POLICY_DENIED');
  });
});
