/** The agent's metrics in audit: AUDIT events counted apart from drops, the audit gauge, forwards without AUDIT. */
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../node-agent/metrics/index.js';
import type { CounterRow, VerdictEvent } from '../../../node-agent/datapath/index.js';

const event = (verdict: VerdictEvent['verdict'], dropReason: VerdictEvent['dropReason']): VerdictEvent => ({
  tsNs: 1n, srcIdentity: 1001, dstIdentity: 1002, ruleId: 0, endpointId: 2, dropReason, family: 4, direction: 'ingress', verdict,
  protocol: 6, gen: 1, icmpType: 0, icmpCode: 0, saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 40000, dport: 8080, pktLen: 60,
});
const row = (verdict: CounterRow['verdict'], packets: number): CounterRow => ({ endpointId: 2, direction: 'ingress', verdict, gen: 1, packets, bytes: packets * 60 });

describe('agent metrics in audit', () => {
  it('AUDIT verdicts are counted as would-be drops by reason, not as drops or forwards; the gauge says audit', async () => {
    const m = new AgentMetrics();
    m.bindDatapath(() => [row('forwarded', 5), row('audit', 7), row('dropped', 2)], () => []);
    m.event(event('audit', 'POLICY_DENY'));
    m.event(event('audit', 'POLICY_DENY'));
    m.event(event('dropped', 'POLICY_DENIED'));
    m.setAudit(true);
    const text = await m.registry.metrics();
    expect(text).toContain('palisade_audit_count_total{reason="POLICY_DENY",direction="ingress"} 2');
    expect(text).toContain('palisade_drop_count_total{reason="POLICY_DENIED",direction="ingress"} 1');
    expect(text).toContain('palisade_forward_count_total{direction="ingress"} 5');
    expect(text).toContain('palisade_policy_audit 1');
    m.setAudit(false);
    expect(await m.registry.metrics()).toContain('palisade_policy_audit 0');
  });
});
