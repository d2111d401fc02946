/**
 * Where a Kubernetes client finds its cluster: a kubeconfig file (its current context), or, inside a pod, the
 * service account the pod runs as (`in-cluster`: the API server from KUBERNETES_SERVICE_HOST/PORT, the token and CA
 * mounted under /var/run/secrets/kubernetes.io/serviceaccount, the token re-read as the kubelet rotates it).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { StoreError } from './errors.js';

/**
 * A client configuration from `source`: a kubeconfig file path, or `in-cluster`.
 * @throws StoreError `store-bad-url` when the file cannot be read or names no current cluster, or when not in a pod.
 */
export function loadKubeConfig(source: string): KubeConfig {
  const kc = new KubeConfig();
  if (source === 'in-cluster' && !process.env.KUBERNETES_SERVICE_HOST) throw new StoreError('store-bad-url', 'in-cluster: KUBERNETES_SERVICE_HOST is not set (not in a pod)');
  try {
    if (source === 'in-cluster') kc.loadFromCluster();
    else kc.loadFromFile(source);
  } catch (err) {
    throw new StoreError('store-bad-url', `kubeconfig ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()?.server) throw new StoreError('store-bad-url', `kubeconfig ${source}: no current cluster`);
  return kc;
}
