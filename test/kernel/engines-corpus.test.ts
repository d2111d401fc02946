/**
 * The kernel engine agrees with the reference evaluator and the tables engine on every real Cilium policy file of
 * the corpus (flows between synthetic parties its selectors pick, test/compile/corpus-flows.ts).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { expect, test } from 'vitest';
import { createEngine as createKernelEngine } from '../../node-agent/engine/kernel-engine.js';
import { generateEdgeFlows } from '../../pipeline/core/bundle/index.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { createEngine as createTablesEngine } from '../../pipeline/simulate/engines/tables.js';
import { CILIUM_CORPUS as CORPUS, corpusFlows, corpusYamlFiles } from '../compile/corpus-flows.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';
import { describeKernel, OBJECT_PATH } from './kernel-env.js';

// Per process: another run of the suite may be going on at the same time.
const PIN_DIR = `/sys/fs/bpf/pld-engines-corpus-${process.pid}`;

describeKernel('corpus: kernel engine vs reference and tables', () => {
  test('every policy file of the corpus', async () => {
    let compared = 0;
    let flowsCompared = 0;
    for (const file of corpusYamlFiles(CORPUS)) {
      const rel = relative(CORPUS, file);
      const { model } = loadPolicyModel([{ path: rel, text: readFileSync(file, 'utf8') }]);
      if (model.specs.length === 0) continue;
      // Two recordings: flows between synthetic parties, and the bundle's edge-case probes around every rule.
      for (const flows of [corpusFlows(model, 300), generateEdgeFlows(model, 3000).map((e) => e.flow)]) {
        const ref = referenceVerdicts(model, flows);
        const tab = await engineVerdicts(await createTablesEngine(model), flows);
        const ker = await engineVerdicts(await createKernelEngine(model, { objectPath: OBJECT_PATH, pinDir: PIN_DIR }), flows);
        for (const [name, other] of [['tables', tab], ['kernel', ker]] as const) {
          const diff = disagreements(flows, ref, other);
          expect({ file: rel, engine: name, first: diff[0] }).toEqual({ file: rel, engine: name, first: undefined });
        }
        flowsCompared += flows.length;
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
    process.stderr.write(`[corpus: ${compared} policy files, ${flowsCompared} flows, three engines agree]\n`);
  }, 600_000);
});
