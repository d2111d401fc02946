/**
 * Fixtures of the agent tests: a real policy model, real signed bundles (composed as `palisade bundle` composes
 * them, with probes judged by the reference evaluator), a real filesystem store, a state directory, a clock whose
 * sleeps advance time at once, and endpoints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPONENT, assembleBundle, canonicalJsonBytes, parseProbeVectors, probesJsonl, trustOfKey, parsePublicKey, publicKeyPem, type SigningKey } from '../../../pipeline/core/bundle/index.js';
import { loadPolicyModel } from '../../../pipeline/core/policy/index.js';
import { REFERENCE_ENGINES, composeBundle } from '../../../pipeline/bundle-build/index.js';
import { FsBundleStore, type BundleDescriptor } from '../../../pipeline/stores/index.js';
import type { EndpointSet, PodEndpoint } from '../../../node-agent/discovery/index.js';
import type { CycleDeps } from '../../../node-agent/agent/cycle.js';
import { memoryLog } from '../../../node-agent/agent/log.js';
import { StateDir } from '../../../node-agent/agent/state-dir.js';
import type { AgentClock, AgentDatapath, AgentState, ApplyStep, BakeOptions } from '../../../node-agent/agent/types.js';
import { initialAgentState } from '../../../node-agent/agent/types.js';
import { bpfObjectBytes, entryOffset, manifestInput, newKey, T0 } from '../../bundle/fixtures.js';

export { T0 };

/** shop/api accepts TCP 8080 from shop/web; web may reach api on 8080 and DNS. */
export const POLICY = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toEndpoints: [{matchLabels: {app: api}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system}}]
    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
`;

/** The same, but api also accepts 9090 (a second bundle that differs). */
export const POLICY_9090 = POLICY.replace('port: "8080", protocol: TCP}]}]\n---', 'port: "8080", protocol: TCP}, {port: "9090", protocol: TCP}]}]\n---');

export const model = (text = POLICY) => {
  const r = loadPolicyModel([{ path: 'policies.yaml', text }]);
  return r.model;
};

/** A pod. */
export function pod(name: string, app: string, ips: string[], iface?: string, namespace = 'shop'): PodEndpoint {
  return { namespace, name, labels: { app }, namespaceLabels: {}, ips, ...(iface !== undefined ? { interface: iface } : {}) };
}

/** web and api on this node, db elsewhere. */
export const ENDPOINTS: EndpointSet = {
  pods: [pod('api', 'api', ['10.1.0.2'], 'pld-api'), pod('db', 'db', ['10.2.0.9']), pod('web', 'web', ['10.1.0.1'], 'pld-web')],
};

/** A signed bundle of `text` with serial `serial`. */
export function bundleOf(serial: number, keys: readonly SigningKey[], text = POLICY, extra: Parameters<typeof manifestInput>[1] = {}): Uint8Array {
  return composeBundle({
    model: model(text),
    recordedFlows: [],
    bpfObject: bpfObjectBytes(),
    manifest: manifestInput(serial, extra),
    keys,
    engines: REFERENCE_ENGINES,
  }).bytes;
}

/** A bundle whose probe `index` claims the opposite verdict, signed by `keys` (a doctored-but-signed bundle). */
export function doctoredBundle(serial: number, keys: readonly SigningKey[], extra: Parameters<typeof manifestInput>[1] = {}): Uint8Array {
  const honest = composeBundle({ model: model(), recordedFlows: [], bpfObject: bpfObjectBytes(), manifest: manifestInput(serial, extra), keys: [], engines: REFERENCE_ENGINES });
  const probes = parseProbeVectors(entry(honest.bytes, 'components/probes.jsonl'));
  const i = probes.findIndex((p) => p.verdict.verdict === 'DROPPED');
  const flipped = probes.map((p, j) => (j === i ? { ...p, verdict: { ...p.verdict, verdict: 'FORWARDED' as const, drop_reason: null, dropped_at: null, denied_by: [] } } : p));
  return assembleBundle(manifestInput(serial, extra), [
    { ...COMPONENT.policyModel, bytes: canonicalJsonBytes(model()) },
    { ...COMPONENT.bpfObject, bytes: bpfObjectBytes() },
    { ...COMPONENT.probes, bytes: probesJsonl(flipped) },
  ], keys).bytes;
}

function entry(file: Uint8Array, name: string): Uint8Array {
  const at = entryOffset(file, name);
  return file.subarray(at.data, at.data + at.size);
}

/** A clock at T0 + 1 h whose sleeps advance it at once (running `onSleep` first). */
export function steppingClock(onSleep: (ms: number) => void = () => {}): AgentClock & { t: number } {
  const c = {
    t: T0.getTime() + 3600_000,
    now: () => new Date(c.t),
    sleep: async (ms: number) => {
      onSleep(ms);
      c.t += ms;
    },
  };
  return c;
}

/** A scratch directory holding a store and a state directory. */
export function scratch(): { dir: string; store: FsBundleStore; state: StateDir; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pld-agent-'));
  return { dir, store: new FsBundleStore(join(dir, 'store')), state: new StateDir(join(dir, 'state')), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Publishes `bytes` as `serial`. */
export function publish(store: FsBundleStore, serial: number, bytes: Uint8Array): Promise<BundleDescriptor> {
  return store.publish({ serial, bytes });
}

export const KEY = newKey();
export const OTHER_KEY = newKey();
export const TRUST = { trust: trustOfKey(parsePublicKey(publicKeyPem(KEY.publicKey), "test.pub")), root: null };

/** The empty starting state. */
export function freshState(): AgentState {
  return initialAgentState();
}

/** Cycle dependencies over `datapath`, with a stepping clock and an in-memory log. */
export function deps(s: ReturnType<typeof scratch>, datapath: AgentDatapath, more: { bake?: Partial<BakeOptions>; endpoints?: () => EndpointSet; clock?: AgentClock; beforeStep?: (step: ApplyStep) => void } = {}) {
  const log = memoryLog();
  const steps: string[] = [];
  const d: CycleDeps = {
    store: s.store,
    datapath,
    persistence: s.state,
    clock: more.clock ?? steppingClock(),
    trust: TRUST,
    endpoints: more.endpoints ?? (() => ENDPOINTS),
    bake: { durationMs: 30_000, intervalMs: 10_000, ...more.bake },
    log,
    observer: { step: (name) => steps.push(name) },
    ...(more.beforeStep ? { beforeStep: more.beforeStep } : {}),
  };
  return { deps: d, log, steps };
}
