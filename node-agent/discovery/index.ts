/**
 * Endpoint discovery: the pods the agent compiles policy for, behind one interface (`EndpointSource`): a static
 * YAML/JSON file, or the Kubernetes API (pods and namespaces followed by informers).
 */
export type { EndpointSet, EndpointSource, PodEndpoint } from './types.js';
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export { FileEndpointSource, MAX_ENDPOINTS_FILE_BYTES, MAX_PODS, parseEndpoints } from './file-source.js';
export { KubernetesEndpointSource, interfaceByRoute, type KubernetesSourceOptions } from './kubernetes-source.js';
export { nodeLabelsFromApi } from './kubernetes-node-labels.js';
