/**
 * This node's labels from its Node object, for rollout waves that select nodes by label (a DaemonSet's pods cannot
 * be given their node's labels through the downward API). Read once when the agent starts: a label changed later
 * counts from the agent's next start.
 */
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DiscoveryError } from './errors.js';

/**
 * The labels of Node `node`.
 * @throws DiscoveryError `endpoints-api-unavailable` when the Node cannot be read (missing, forbidden, API down).
 */
export async function nodeLabelsFromApi(kubeConfig: KubeConfig, node: string): Promise<Record<string, string>> {
  try {
    const n = await kubeConfig.makeApiClient(CoreV1Api).readNode({ name: node });
    return { ...(n.metadata?.labels ?? {}) };
  } catch (err) {
    const why = err instanceof ApiException ? `HTTP ${err.code}` : (((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
    throw new DiscoveryError('endpoints-api-unavailable', `cannot read the labels of node ${node} from the Kubernetes API: ${why}`, undefined, { cause: err });
  }
}
