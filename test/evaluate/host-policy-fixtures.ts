/**
 * Host-policy fixtures shared by the evaluator/tables tests and the kernel agreement test: a host policy selecting
 * ingress workers, a namespaced pod policy, node endpoints with node labels, pods and an outside address.
 */
import type { FlowEndpoint } from '../../pipeline/core/flow/types.js';
import { pod, reserved } from './model-builder.js';

/** A host policy (ingress workers: SSH from the cluster; no SMTP to the world) and a pod policy. */
export const HOST_POLICY = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ingress-workers}
spec:
  nodeSelector: {matchLabels: {type: ingress-worker}}
  enableDefaultDeny: {egress: false}
  ingress:
    - fromEntities: [cluster]
      toPorts: [{ports: [{port: "22", protocol: TCP}]}]
  egressDeny:
    - toEntities: [world]
      toPorts: [{ports: [{port: "25", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-lock, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: web}}]
`;

/** A node endpoint with node labels (as the flow reader gives them from the inventory). */
export const node = (kind: 'host' | 'remote-node', ip: string, labels: Record<string, string>): FlowEndpoint => ({
  kind,
  ip,
  labels: [{ source: 'reserved', key: kind, value: '' }, ...Object.entries(labels).map(([key, value]) => ({ source: 'k8s', key, value }))],
});

export const worker = node('host', '192.168.0.10', { type: 'ingress-worker' });
export const plainHost = node('host', '192.168.0.11', { type: 'general' });
export const otherWorker = node('remote-node', '192.168.0.12', { type: 'ingress-worker' });
export const web = pod({ ns: 'shop', labels: { app: 'web' }, ip: '10.0.0.1', name: 'web-1' });
export const api = pod({ ns: 'shop', labels: { app: 'api' }, ip: '10.0.0.2', name: 'api-1' });
export const world = reserved('world', '8.8.8.8');
