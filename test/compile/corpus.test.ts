/**
 * The tables engine agrees with the reference evaluator on every real Cilium policy file of the corpus, with flows
 * between synthetic parties that the policies' selectors pick (test/compile/corpus-flows.ts) and with the edge-case
 * probes a bundle carries for the same policies (pipeline/core/bundle/probes.ts).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEdgeFlows } from '../../pipeline/core/bundle/index.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { CILIUM_CORPUS as CORPUS, corpusFlows, corpusYamlFiles } from './corpus-flows.js';
import { disagreements, engineVerdicts, referenceVerdicts } from './differential.js';


describe('corpus: tables engine vs reference evaluator', () => {
  const files = corpusYamlFiles(CORPUS);
  it('finds the corpus', () => expect(files.length).toBeGreaterThan(100));
  let withPolicies = 0;
  for (const file of files) {
    const rel = relative(CORPUS, file);
    it(rel, async () => {
      const { model } = loadPolicyModel([{ path: rel, text: readFileSync(file, 'utf8') }]);
      if (model.specs.length === 0) return;
      withPolicies++;
      // Two recordings: flows between synthetic parties, and the bundle's edge-case probes around every rule.
      for (const flows of [corpusFlows(model), generateEdgeFlows(model, 3000).map((e) => e.flow)]) {
        const ref = referenceVerdicts(model, flows);
        const tab = await engineVerdicts(await createEngine(model), flows);
        const diff = disagreements(flows, ref, tab);
        expect(diff.slice(0, 1).map((d) => ({ flow: d.flow, reference: d.reference, tables: d.other }))).toEqual([]);
        expect(tab).toHaveLength(flows.length);
      }
    });
  }
  it('compared a real share of the corpus', () => expect(withPolicies).toBeGreaterThan(50));
});
