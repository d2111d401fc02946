/**
 * The Kubernetes manifests under pipeline/rollout/kubernetes/deploy/ and node-agent/deploy/: every object valid
 * for the Kubernetes OpenAPI schemas (kubernetes-models' validators, and no field the API's models do not know, from
 * @kubernetes/client-node's attribute maps, so a misspelt field is not silently dropped); the CRDs' own schemas
 * (ajv) accept the PolicyRollout and PolicyNode objects the code writes and refuse malformed ones; the flags in the
 * containers' args are the commands' own, and the ConfigMap's palisade.yaml is a valid rollout spec.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as clientModels from '@kubernetes/client-node';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import * as apiextensions from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as core from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { main as agentMain } from '../../node-agent/agent/cli.js';
import { readRolloutSpecFile, startRollout, step, type RolloutSpec } from '../../pipeline/rollout/index.js';
import { policyRolloutView } from '../../pipeline/rollout/kubernetes/index.js';
import { CRDS, manifest } from './kube-fixtures.js';
import { allActive, fleetOf, NEXT, report, STABLE, threeWaves } from './fleet.js';

const FILES = ['pipeline/rollout/kubernetes/deploy/crds.yaml', 'pipeline/rollout/kubernetes/deploy/controller.yaml', 'node-agent/deploy/agent.yaml'];
const MODELS: Record<string, Record<string, new (data: object) => { validate(): void }>> = {
  v1: core as never,
  'apps/v1': apps as never,
  'rbac.authorization.k8s.io/v1': rbac as never,
  'apiextensions.k8s.io/v1': apiextensions as never,
};
const work = mkdtempSync(join(tmpdir(), 'pld-manifests-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Attr = { baseName: string; type: string };
/** The first field of `v` that the Kubernetes API model `type` does not have (its path), or undefined. */
function unknownField(v: unknown, type: string, path: string): string | undefined {
  if (v === null || v === undefined || ['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString'].includes(type)) return undefined;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return (v as unknown[]).map((x, i) => unknownField(x, array[1]!, `${path}[${i}]`)).find(Boolean);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(v as object).map(([k, x]) => unknownField(x, map[1]!, `${path}.${k}`)).find(Boolean);
  const model = (clientModels as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] }>)[type];
  if (!model?.getAttributeTypeMap) throw new Error(`no model ${type}`);
  const attrs = model.getAttributeTypeMap();
  for (const [k, x] of Object.entries(v as object)) {
    const attr = attrs.find((a) => a.baseName === k);
    if (!attr) return `${path}.${k}`;
    const inner = unknownField(x, attr.type, `${path}.${k}`);
    if (inner) return inner;
  }
  return undefined;
}
const modelName = (kind: string): string => `V1${kind}`;

describe('Kubernetes manifests', () => {
  it.each(FILES)('%s: every object is valid for the Kubernetes OpenAPI schemas, with no unknown field', (file) => {
    const docs = manifest(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      const apiVersion = doc.apiVersion as string;
      const kind = doc.kind as string;
      const Model = MODELS[apiVersion]?.[kind];
      expect(Model, `${file}: ${apiVersion} ${kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${kind} ${(doc.metadata as { name: string }).name}`).not.toThrow();
      expect(unknownField(doc, modelName(kind), kind)).toBeUndefined();
    }
  });

  it('the unknown-field check and the validators do catch mistakes', () => {
    const ds = manifest('node-agent/deploy/agent.yaml').find((d) => d.kind === 'DaemonSet')!;
    const typo = structuredClone(ds) as { spec: { template: { spec: { volumes: Record<string, unknown>[] } } } };
    typo.spec.template.spec.volumes[0] = { name: 'bpffs', hostpath: { path: '/sys/fs/bpf' } };
    expect(unknownField(typo, 'V1DaemonSet', 'DaemonSet')).toBe('DaemonSet.spec.template.spec.volumes[0].hostpath');
    const wrongType = structuredClone(ds) as { spec: { template: { spec: { hostNetwork: unknown } } } };
    wrongType.spec.template.spec.hostNetwork = 'yes';
    expect(() => new apps.DaemonSet(wrongType as never).validate()).toThrow(/hostNetwork must be boolean/);
  });

  it('the agent DaemonSet: BPF capabilities, bpffs and state directory from the host, its node from the downward API', () => {
    const ds = manifest('node-agent/deploy/agent.yaml').find((d) => d.kind === 'DaemonSet') as unknown as apps.IDaemonSet;
    const pod = ds.spec!.template.spec!;
    const agent = pod.containers[0]!;
    expect(agent.securityContext?.capabilities?.add).toEqual(expect.arrayContaining(['BPF', 'PERFMON', 'NET_ADMIN']));
    expect(agent.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect(agent.securityContext?.privileged).toBeUndefined();
    const hostPaths = Object.fromEntries(pod.volumes!.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    expect(hostPaths).toEqual({ bpffs: '/sys/fs/bpf', state: '/var/lib/palisade-agent' });
    for (const [name, path] of [['bpffs', '/sys/fs/bpf'], ['state', '/var/lib/palisade-agent']]) expect(agent.volumeMounts).toContainEqual({ name, mountPath: path });
    expect(agent.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(agent.args).toEqual(expect.arrayContaining(['run', '--rollout', '--kubeconfig=in-cluster', '--node=$(NODE_NAME)', '--pin-dir=/sys/fs/bpf/palisade', '--state-dir=/var/lib/palisade-agent']));
    expect(pod.serviceAccountName).toBe('palisade-agent');
  });

  it("the containers' flags are the commands' own; the ConfigMap's palisade.yaml is a valid rollout spec", async () => {
    const out = new PassThrough();
    let usage = '';
    out.on('data', (d: Buffer) => (usage += d.toString()));
    expect(await agentMain(['run', '--help'], 'test', out, new PassThrough())).toBe(0);
    const ds = manifest('node-agent/deploy/agent.yaml').find((d) => d.kind === 'DaemonSet') as unknown as apps.IDaemonSet;
    for (const arg of ds.spec!.template.spec!.containers[0]!.args!.filter((a) => a.startsWith('--'))) expect(usage).toContain(`  ${arg.split('=')[0]} `);
    const controller = manifest('pipeline/rollout/kubernetes/deploy/controller.yaml');
    const deploy = controller.find((d) => d.kind === 'Deployment') as unknown as apps.IDeployment;
    const { run } = await import('../../pipeline/cli/commands/rollout.js');
    const help = await captureStdout(() => run(['--help']));
    for (const arg of deploy.spec!.template.spec!.containers[0]!.args!.filter((a) => a.startsWith('--'))) expect(help).toContain(`${arg.split('=')[0]} `);
    const config = controller.find((d) => d.kind === 'ConfigMap') as unknown as core.IConfigMap;
    writeFileSync(join(work, 'palisade.yaml'), config.data!['palisade.yaml']!);
    const spec = await readRolloutSpecFile(join(work, 'palisade.yaml'));
    expect(spec.waves.map((w) => w.name)).toEqual(['canary', 'half', 'everyone']);
  });
});

describe('CRD schemas', () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const schemaOf = (plural: string) => ajv.compile(CRDS.find((c) => c.spec.names.plural === plural)!.spec.versions[0]!.schema.openAPIV3Schema);
  const rolloutSchema = schemaOf('policyrollouts');
  const nodeSchema = schemaOf('policynodes');
  const spec: RolloutSpec = { ...threeWaves(), gates: { ...threeWaves().gates, maxDrops: { absolute: 5, perPredicted: 2 }, metrics: [{ name: 'drop-rate', query: 'sum(rate(x[1m]))', successCondition: { op: '<', threshold: 5 }, intervalMs: 30_000, count: 3, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 }] } };
  const view = policyRolloutView(spec);
  const fleet = fleetOf(4);
  const t0 = 1_800_000_000_000;

  /** The PolicyRollout object the controller writes for `state`. */
  const objectOf = (state: unknown, previous?: Record<string, unknown>) => ({ apiVersion: 'palisade.dev/v1alpha1', kind: 'PolicyRollout', metadata: { name: 'current' }, spec: view.spec(state), status: { ...view.status(state, previous, 3), state } });

  it('accepts the PolicyRollouts the controller writes, progressing, aborted and completed', () => {
    const started = startRollout(NEXT, spec, fleet, null, t0).state;
    const progressing = objectOf(started);
    expect(rolloutSchema(progressing), JSON.stringify(rolloutSchema.errors)).toBe(true);
    expect(progressing.status).toMatchObject({ phase: 'progressing', currentWave: 'canary', conditions: [{ type: 'Ready', status: 'False' }, { type: 'Progressing', status: 'True', reason: 'WaveReaching' }, { type: 'Degraded', status: 'False' }] });
    expect(progressing.spec).toMatchObject({ bundle: NEXT, waves: [{ name: 'canary', nodeSelector: { matchLabels: { 'palisade.io/canary': 'true' } }, bake: '1m', mode: 'enforce' }, { name: 'half', percent: 50, bake: '30s' }, { name: 'rest', percent: 100 }], gates: { reportTimeout: '2m', metrics: [{ successCondition: '< 5', interval: '30s' }] } });
    const failed = step(started, { spec, fleet, reports: new Map([['node-0', report('node-0', NEXT, t0 + 1000, 'rolled-back', { reason: { code: 'bake-failed', message: 'health' } })]]), now: t0 + 2000 }).state;
    const aborted = objectOf(failed, progressing.status);
    expect(rolloutSchema(aborted), JSON.stringify(rolloutSchema.errors)).toBe(true);
    expect(aborted.status).toMatchObject({ phase: 'aborted', blastRadius: { nodes: ['node-0'] }, conditions: [{ type: 'Ready', status: 'False', reason: 'Aborted' }, { type: 'Progressing', status: 'False' }, { type: 'Degraded', status: 'True', reason: 'Aborted' }] });
    // Ready stayed False: its transition time is the one from before.
    const ready = (o: typeof aborted) => (o.status.conditions as { type: string; lastTransitionTime: string }[]).find((c) => c.type === 'Ready')!.lastTransitionTime;
    expect(ready(aborted)).toBe(ready(progressing));
    let s = startRollout(NEXT, spec, fleet, null, t0).state;
    // (Driven without the metric gate, which would wait for measurements; the waves are the same.)
    for (let t = t0; s.phase === 'progressing' && t < t0 + 3_600_000; t += 10_000) s = step(s, { spec: threeWaves(), fleet, reports: allActive(fleet.map((n) => n.name), NEXT, t), now: t }).state;
    const completed = objectOf(s);
    expect(rolloutSchema(completed), JSON.stringify(rolloutSchema.errors)).toBe(true);
    expect(completed.status).toMatchObject({ phase: 'completed', currentWave: null, conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Completed' })]) });
  });

  it('refuses malformed PolicyRollouts', () => {
    const good = objectOf(startRollout(STABLE, spec, fleet, null, t0).state);
    const bad = (mutate: (o: ReturnType<typeof objectOf> & { spec: Record<string, unknown>; status: Record<string, unknown> }) => void) => {
      const o = structuredClone(good) as never;
      mutate(o);
      return rolloutSchema(o);
    };
    expect(bad((o) => void ((o.spec.bundle as { digest: string }).digest = 'sha256:xyz'))).toBe(false);
    expect(bad((o) => void ((o.status.conditions as { status: string }[])[0]!.status = 'Maybe'))).toBe(false);
    expect(bad((o) => void ((o.status.conditions as { reason: string }[])[0]!.reason = 'not a reason!'))).toBe(false);
    expect(bad((o) => void ((o.status.conditions as { lastTransitionTime: string }[])[0]!.lastTransitionTime = 'yesterday'))).toBe(false);
    expect(bad((o) => void (o.status.phase = 'dancing'))).toBe(false);
    expect(bad((o) => void ((o.spec.waves as { bake: string }[])[0]!.bake = '2 minutes'))).toBe(false);
    expect(bad((o) => void ((o.spec.waves as { mode: string }[])[0]!.mode = 'observe'))).toBe(false);
  });

  it('accepts the PolicyNode the controller and an agent write; refuses malformed ones', () => {
    const node = { apiVersion: 'palisade.dev/v1alpha1', kind: 'PolicyNode', metadata: { name: 'node-0' }, spec: { bundle: { ...NEXT, size: 1234 }, mode: 'audit', rollout: 5 }, status: { ...report('node-0', NEXT, t0, 'rejected', { reason: { code: 'audit-unsupported', message: 'm' }, predictedDrops: 3 }), labels: { 'palisade.io/canary': 'true' } } };
    expect(nodeSchema(node), JSON.stringify(nodeSchema.errors)).toBe(true);
    expect(nodeSchema({ ...node, spec: { ...node.spec, mode: 'maybe' } })).toBe(false);
    expect(nodeSchema({ ...node, status: { ...node.status, phase: 'dancing' } })).toBe(false);
    expect(nodeSchema({ ...node, status: { ...node.status, drops: -1 } })).toBe(false);
    expect(nodeSchema({ ...node, status: { ...node.status, labels: { a: 'x'.repeat(64) } } })).toBe(false);
  });
});

async function captureStdout(fn: () => Promise<number>): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return text;
}
