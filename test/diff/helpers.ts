/** Small builders for flows and verdicts in the shapes of pipeline/core/flow/types.ts. */
import type { Flow, FlowEndpoint, RuleRef, Verdict } from '../../pipeline/core/flow/types.js';
import { workloadFromPodName } from '../../pipeline/flows/index.js';

/** A pod endpoint; `workload` as the flow reader resolves it (default: the pod name without controller suffixes). */
export function pod(namespace: string, podName: string, ip: string, workload = workloadFromPodName(podName)): FlowEndpoint {
  return {
    kind: 'pod',
    ip,
    namespace,
    podName,
    workload,
    labels: [{ source: 'k8s', key: 'io.kubernetes.pod.namespace', value: namespace }],
  };
}

export const WORLD: FlowEndpoint = { kind: 'world', ip: '203.0.113.9', labels: [{ source: 'reserved', key: 'world', value: '' }] };

export function tcp(index: number, src: FlowEndpoint, dst: FlowEndpoint, dstPort: number, extra: Partial<Flow> = {}): Flow {
  return { index, src, dst, protocol: 'TCP', srcPort: 40000 + index, dstPort, isReply: false, ...extra };
}

export function rule(file: string, line: number, name = 'p', ruleId = `${name}/0/egress/0`): RuleRef {
  return { kind: 'CiliumNetworkPolicy', namespace: 'shop', name, rule: ruleId, file, line };
}

export function forwarded(index: number, allowed: RuleRef[] = [], l7 = false): Verdict {
  return {
    index,
    verdict: 'FORWARDED',
    drop_reason: null,
    dropped_at: null,
    allowed_by: allowed,
    denied_by: [],
    ...(l7 ? { l7: 'proxy' as const } : {}),
  };
}

export function dropped(index: number, at: 'egress' | 'ingress', denied: RuleRef[] = []): Verdict {
  return {
    index,
    verdict: 'DROPPED',
    drop_reason: denied.length > 0 ? 'POLICY_DENY' : 'POLICY_DENIED',
    dropped_at: at,
    allowed_by: [],
    denied_by: denied,
  };
}
