/**
 * Host policies (CCNP nodeSelector) in the kernel: the kernel engine (BPF_PROG_TEST_RUN) gives the reference
 * evaluator's verdict on every flow to, from and between node endpoints a host policy selects, and on the pods and
 * nodes around them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { expect, test } from 'vitest';
import type { Flow, FlowEndpoint } from '../../pipeline/core/flow/types.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { createEngine as createKernelEngine } from '../../node-agent/engine/kernel-engine.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';
import { api, HOST_POLICY, otherWorker, plainHost, web, worker, world } from '../evaluate/host-policy-fixtures.js';
import { flow } from '../evaluate/model-builder.js';
import { describeKernel, OBJECT_PATH } from './kernel-env.js';

const PIN_DIR = `/sys/fs/bpf/pld-engines-host-${process.pid}`;
const PARTIES: readonly FlowEndpoint[] = [worker, plainHost, otherWorker, web, api, world];

describeKernel('host policies: kernel engine = reference', () => {
  test('every pair of parties, on the allowed, denied and other ports, both ways', async () => {
    const { model, diagnostics } = loadPolicyModel([{ path: 'policies/host.yaml', text: HOST_POLICY }]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const flows: Flow[] = [];
    for (const src of PARTIES) {
      for (const dst of PARTIES) {
        if (src === dst) continue;
        for (const dstPort of [22, 25, 80]) flows.push(flow(src, dst, { index: flows.length, dstPort }));
      }
    }
    const ref = referenceVerdicts(model, flows);
    // Host policies decide some of these flows: the test would prove nothing otherwise.
    expect(ref.filter((v) => v.allowed_by.some((r) => r.name === 'ingress-workers') || v.denied_by.some((r) => r.name === 'ingress-workers')).length).toBeGreaterThan(5);
    expect(ref.filter((v) => v.verdict === 'DROPPED').length).toBeGreaterThan(5);
    const ker = await engineVerdicts(await createKernelEngine(model, { objectPath: OBJECT_PATH, pinDir: PIN_DIR }), flows);
    expect(disagreements(flows, ref, ker)).toEqual([]);
    expect(existsSync(PIN_DIR) ? readdirSync(PIN_DIR) : []).toEqual([]);
  }, 120_000);
});
