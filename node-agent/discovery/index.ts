/**
 * Endpoint discovery: the pods the agent compiles policy for, behind one interface (`EndpointSource`). The static
 * file source is here; a Kubernetes source implements the same interface.
 */
export type { EndpointSet, EndpointSource, PodEndpoint } from './types.js';
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export { FileEndpointSource, MAX_ENDPOINTS_FILE_BYTES, MAX_PODS, parseEndpoints } from './file-source.js';
