/**
 * Audit in the verdict model: the reference evaluator and the tables engine agree on AUDIT verdicts for generated
 * policies and recordings under every audit scope, and audit changes nothing but what would have been dropped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../pipeline/core/flow/types.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { referenceEngine } from '../../pipeline/simulate/reference-engine.js';
import { arbAuditScope, arbFlows, arbModel, SERVICES } from './generators.js';
import { disagreements, engineVerdicts, referenceVerdicts, secondPass } from './differential.js';

const SEEDS = [11, 2026, 777];

const wouldDrop = (v: Verdict) => ({ drop_reason: v.drop_reason, dropped_at: v.dropped_at, denied_by: v.denied_by });

describe('audit: tables engine agrees with the reference evaluator', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, async () => {
      let audited = 0;
      await fc.assert(
        fc.asyncProperty(arbModel(8), arbFlows(30), arbAuditScope, async (model, flows, audit) => {
          const ref = referenceVerdicts(model, flows, SERVICES, audit);
          const once = await engineVerdicts(await createEngine(model, { flowsForDns: secondPass(flows), services: SERVICES, audit }), flows);
          const chunked = await engineVerdicts(await createEngine(model, { readAhead: 4, services: SERVICES, audit }), flows);
          const diff = [...disagreements(flows, ref, once), ...disagreements(flows, ref, chunked)];
          if (diff.length > 0) {
            const d = diff[0]!;
            throw new Error(`audit ${JSON.stringify(audit)}: flow ${d.flow.index} disagrees:\nflow ${JSON.stringify(d.flow)}\nreference ${JSON.stringify(d.reference)}\ntables    ${JSON.stringify(d.other)}`);
          }
          audited += ref.filter((v) => v.verdict === 'AUDIT').length;
        }),
        { seed, numRuns: 150, endOnFailure: true },
      );
      // The property is not vacuous: generated recordings do hit would-be drops.
      expect(audited).toBeGreaterThan(0);
    });
  }

  it('auditing every endpoint turns each drop into AUDIT with the same reason and place, and nothing else changes', async () => {
    await fc.assert(
      fc.asyncProperty(arbModel(8), arbFlows(30), async (model, flows) => {
        const enforced = referenceVerdicts(model, flows, SERVICES);
        const audited = referenceVerdicts(model, flows, SERVICES, { kind: 'all' });
        enforced.forEach((e, i) => {
          const a = audited[i]!;
          if (e.verdict === 'DROPPED') {
            expect(a.verdict).toBe('AUDIT');
            expect(wouldDrop(a)).toEqual(wouldDrop(e));
          } else expect({ ...a, l7: a.l7 ?? null }).toEqual({ ...e, l7: e.l7 ?? null });
        });
      }),
      { seed: 99, numRuns: 200, endOnFailure: true },
    );
  });

  it('audit scoped to a namespace: an enforced drop after an audited would-be drop still drops', async () => {
    // Generated pods live in `default` and `other`: an audit of `other` alone never forwards a drop at `default`.
    await fc.assert(
      fc.asyncProperty(arbModel(8), arbFlows(30), async (model, flows) => {
        const audited = referenceVerdicts(model, flows, SERVICES, { kind: 'namespaces', namespaces: ['other'] });
        audited.forEach((a, i) => {
          const f = flows[i]!;
          const flow = f.isReply ? { src: f.dst, dst: f.src } : f;
          if (a.verdict !== 'AUDIT') return;
          const at = a.dropped_at === 'egress' ? flow.src : flow.dst;
          expect(at.namespace).toBe('other');
        });
        const ref = await engineVerdicts(referenceEngine(model, { services: SERVICES, audit: { kind: 'namespaces', namespaces: ['other'] } }), flows);
        expect(ref).toEqual(audited);
      }),
      { seed: 5, numRuns: 200, endOnFailure: true },
    );
  });
});
