/**
 * A namespace named in a CiliumNetworkPolicy's endpointSelector, as Cilium's ParseToCiliumRule treats it: under
 * exactly `k8s:io.kubernetes.pod.namespace` in matchLabels it is replaced by the policy's namespace; the key without
 * the `k8s:` prefix, or a matchExpressions on it, is ANDed with the policy's namespace. Each spelling naming another
 * namespace gets a positioned `subject-namespace-mismatch` warning. The reference and tables engines agree on the
 * resulting verdicts.
 */
import { describe, expect, it } from 'vitest';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import type { PolicyModel } from '../../pipeline/core/model/types.js';
import { createEngine } from '../../pipeline/simulate/engines/tables.js';
import { disagreements, engineVerdicts, referenceVerdicts } from '../compile/differential.js';
import { marked } from '../core/marked.js';
import { flow, pod } from './model-builder.js';

const policy = (selector: string): string => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: lock, namespace: shop}
spec:
  endpointSelector:
${selector}
  ingress:
    - fromEntities: [cluster]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`;

function load(text: string): { model: PolicyModel; warnings: { code: string; line: number; col: number; message: string }[] } {
  const r = loadPolicyModel([{ path: 'p.yaml', text }]);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { model: r.model, warnings: r.diagnostics.map((d) => ({ code: d.code, line: d.pos.line, col: d.pos.col, message: d.message })) };
}

const shopApi = pod({ ns: 'shop', labels: { app: 'api' }, ip: '10.0.1.1', name: 'api-1' });
const otherApi = pod({ ns: 'other', labels: { app: 'api' }, ip: '10.0.2.1', name: 'api-2' });
const client = pod({ ns: 'shop', labels: { app: 'web' }, ip: '10.0.1.9', name: 'web-1' });

/** Is the subject enforced on `target`? A flow on port 80 is dropped exactly when the lock selects it. */
async function locked(model: PolicyModel, target: typeof shopApi): Promise<boolean> {
  const flows = [flow(client, target, { index: 0, dstPort: 80 }), flow(client, target, { index: 1, dstPort: 8080 })];
  const ref = referenceVerdicts(model, flows);
  const tables = await engineVerdicts(await createEngine(model, {}), flows);
  expect(disagreements(flows, ref, tables)).toEqual([]);
  expect(ref[1]!.verdict).toBe('FORWARDED');
  return ref[0]!.verdict === 'DROPPED';
}

describe('endpointSelector namespace, as Cilium reads it', () => {
  it("k8s:io.kubernetes.pod.namespace in matchLabels is replaced by the policy's namespace (and warned about)", async () => {
    const m = marked(policy("    matchLabels:\n      app: api\n      ‸'k8s:io.kubernetes.pod.namespace': other\n"));
    const { model, warnings } = load(m.text);
    expect(warnings.map((w) => [w.code, w.line, w.col])).toEqual([['subject-namespace-mismatch', m.line, m.col]]);
    expect(warnings[0]!.message).toMatch(/replaces it .*selects pods of 'shop', not of 'other'/);
    expect(await locked(model, shopApi)).toBe(true);
    expect(await locked(model, otherApi)).toBe(false);
  });

  it('the same key naming the own namespace is accepted silently', async () => {
    const { model, warnings } = load(policy("    matchLabels: {app: api, 'k8s:io.kubernetes.pod.namespace': shop}\n"));
    expect(warnings).toEqual([]);
    expect(await locked(model, shopApi)).toBe(true);
  });

  it('the key without the k8s: prefix is ANDed: the policy selects no pod', async () => {
    const m = marked(policy('    matchLabels:\n      app: api\n      ‸io.kubernetes.pod.namespace: other\n'));
    const { model, warnings } = load(m.text);
    expect(warnings.map((w) => [w.code, w.line, w.col])).toEqual([['subject-namespace-mismatch', m.line, m.col]]);
    expect(warnings[0]!.message).toMatch(/selects no pod/);
    expect(await locked(model, shopApi)).toBe(false);
    expect(await locked(model, otherApi)).toBe(false);
  });

  it('matchExpressions In on the key is ANDed: no pod when the own namespace is missing', async () => {
    const m = marked(policy("    matchLabels: {app: api}\n    matchExpressions:\n      - key: ‸'k8s:io.kubernetes.pod.namespace'\n        operator: In\n        values: [other]\n"));
    const { model, warnings } = load(m.text);
    expect(warnings.map((w) => [w.code, w.line, w.col])).toEqual([['subject-namespace-mismatch', m.line, m.col]]);
    expect(warnings[0]!.message).toMatch(/selects no pod/);
    expect(await locked(model, shopApi)).toBe(false);
  });

  it('matchExpressions In listing the own namespace too still selects only the own namespace', async () => {
    const { model, warnings } = load(policy("    matchLabels: {app: api}\n    matchExpressions:\n      - {key: io.kubernetes.pod.namespace, operator: In, values: [shop, other]}\n"));
    expect(warnings.map((w) => w.code)).toEqual(['subject-namespace-mismatch']);
    expect(warnings[0]!.message).toMatch(/only 'shop' can ever match; 'other' never does/);
    expect(await locked(model, shopApi)).toBe(true);
    expect(await locked(model, otherApi)).toBe(false);
  });

  it('matchExpressions NotIn: excluding the own namespace selects no pod; excluding another has no effect', async () => {
    const own = load(policy("    matchLabels: {app: api}\n    matchExpressions:\n      - {key: 'k8s:io.kubernetes.pod.namespace', operator: NotIn, values: [shop, other]}\n"));
    expect(own.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/selects no pod/)]);
    expect(await locked(own.model, shopApi)).toBe(false);
    const other = load(policy("    matchLabels: {app: api}\n    matchExpressions:\n      - {key: 'k8s:io.kubernetes.pod.namespace', operator: NotIn, values: [other]}\n"));
    expect(other.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/has no effect/)]);
    expect(await locked(other.model, shopApi)).toBe(true);
  });

  it('a cluster-wide policy keeps its namespace match as written, without warning', async () => {
    const { model, warnings } = load(
      policy("    matchLabels: {app: api, 'k8s:io.kubernetes.pod.namespace': other}\n").replace('CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy').replace(', namespace: shop', ''),
    );
    expect(warnings).toEqual([]);
    expect(await locked(model, otherApi)).toBe(true);
    expect(await locked(model, shopApi)).toBe(false);
  });
});
