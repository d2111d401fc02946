/**
 * `validate` throughput: 10,000 generated policies (CNP with L3/L4/L7, CCNP, NetworkPolicy; 2,000 files of five
 * documents) read and validated end to end (read files → parse → validate → build the model), against the floor:
 * reading the same files and a bare YAML parse (`parseAllDocuments` + `toJS`). Medians of several runs; prints
 * policies/s and the ratio (goal: within 2x of the bare parse, under 2 s). Asserts nothing.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadPolicyModel } from '../pipeline/core/policy/index.js';
import { readPolicyFiles } from '../pipeline/sources/index.js';

const POLICIES = 10_000;
const PER_FILE = 5;
const RUNS = 5;

function cnp(i: number): string {
  const ns = `team-${i % 50}`;
  switch (i % 4) {
    case 0:
      return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  description: "service ${i}: callers and dependencies"
  endpointSelector:
    matchLabels:
      app: svc-${i}
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: svc-${i + 1}
        - matchExpressions:
            - key: tier
              operator: In
              values: [frontend, edge]
      toPorts:
        - ports:
            - port: "8080"
              protocol: TCP
          rules:
            http:
              - method: GET
                path: "/api/v1/items/[0-9]+"
              - method: POST
                path: "/api/v1/orders"
                headers: ["X-Request-Id"]
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s:k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: ANY
          rules:
            dns:
              - matchPattern: "*.example.com"
    - toFQDNs:
        - matchName: api-${i}.example.com
      toPorts:
        - ports:
            - port: "443"
              protocol: TCP
`;
    case 1:
      return `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db-${i}
  namespace: ${ns}
specs:
  - endpointSelector:
      matchLabels:
        app: db-${i}
    ingress:
      - fromEndpoints:
          - matchLabels:
              app: svc-${i - 1}
        toPorts:
          - ports:
              - port: "5432"
                protocol: TCP
  - endpointSelector:
      matchLabels:
        app: db-${i}
    egress:
      - toCIDRSet:
          - cidr: 10.${i % 256}.0.0/16
            except:
              - 10.${i % 256}.128.0/17
        toPorts:
          - ports:
              - port: "9000"
                endPort: 9100
                protocol: TCP
    egressDeny:
      - toCIDR:
          - 169.254.169.254/32
`;
    case 2:
      return `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cluster-${i}
spec:
  endpointSelector:
    matchLabels:
      role: r-${i}
  ingress:
    - fromEntities:
        - cluster
        - host
      icmps:
        - fields:
            - type: EchoRequest
              family: IPv4
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: monitoring
      toPorts:
        - ports:
            - port: "9090"
              protocol: TCP
`;
    default:
      return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np-${i}
  namespace: ${ns}
spec:
  podSelector:
    matchLabels:
      app: np-${i}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              team: t-${i % 7}
          podSelector:
            matchLabels:
              app: client
        - ipBlock:
            cidr: 192.168.0.0/16
            except: [192.168.1.0/24]
      ports:
        - protocol: TCP
          port: 8443
        - protocol: TCP
          port: 30000
          endPort: 30100
  egress:
    - to:
        - podSelector:
            matchLabels:
              app: cache
      ports:
        - port: redis
`;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-validate-'));
try {
  for (let f = 0; f < POLICIES / PER_FILE; f++) {
    const sub = path.join(dir, `ns-${f % 20}`);
    mkdirSync(sub, { recursive: true });
    const docs: string[] = [];
    for (let k = 0; k < PER_FILE; k++) docs.push(cnp(f * PER_FILE + k));
    writeFileSync(path.join(sub, `policies-${f}.yaml`), docs.join('---\n'));
  }

  // Wall time and CPU time (user + system) of this process: CPU time is steadier on a shared machine.
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const bareCpu: number[] = [];
  const fullCpu: number[] = [];
  const bareRun = (): number => {
    const c0 = cpuMs();
    const t0 = performance.now();
    let n = 0;
    for (const sub of readdirSync(dir).sort()) {
      for (const name of readdirSync(path.join(dir, sub)).sort()) {
        const text = readFileSync(path.join(dir, sub, name), 'utf8');
        for (const d of parseAllDocuments(text)) if ((d as { toJS(): unknown }).toJS()) n++;
      }
    }
    if (n !== POLICIES) throw new Error(`bare parse saw ${n} documents`);
    bareCpu.push(cpuMs() - c0);
    return performance.now() - t0;
  };
  const fullRun = async (): Promise<number> => {
    const c0 = cpuMs();
    const t0 = performance.now();
    const read = await readPolicyFiles(dir);
    const result = loadPolicyModel(read.files);
    const ms = performance.now() - t0;
    fullCpu.push(cpuMs() - c0);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (result.stats.policies !== POLICIES || errors.length > 0) {
      throw new Error(`validate accepted ${result.stats.policies} policies with ${errors.length} errors: ${errors[0]?.message ?? ''}`);
    }
    return ms;
  };

  bareRun();
  await fullRun();
  bareCpu.length = 0;
  fullCpu.length = 0;
  const bare: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(bareRun());
    full.push(await fullRun());
  }
  const b = median(bare);
  const v = median(full);
  console.log(`${POLICIES} policies in ${POLICIES / PER_FILE} files (CNP L3/L4/L7, CCNP, NetworkPolicy)`);
  console.log(`bare YAML parse (read + parseAllDocuments + toJS)  median ${b.toFixed(0)} ms  ${(POLICIES / (b / 1000)).toFixed(0)} policies/s`);
  console.log(`validate end to end (read + load + validate + model) median ${v.toFixed(0)} ms  ${(POLICIES / (v / 1000)).toFixed(0)} policies/s`);
  console.log(`ratio ${(v / b).toFixed(2)}x the bare parse (goal <= 2x); total ${(v / 1000).toFixed(2)} s (goal < 2 s); ${RUNS} runs each`);
  const bc = median(bareCpu);
  const vc = median(fullCpu);
  console.log(`CPU time (user+sys): bare ${bc.toFixed(0)} ms, validate ${vc.toFixed(0)} ms, ratio ${(vc / bc).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
