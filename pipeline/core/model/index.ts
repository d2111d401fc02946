/**
 * The policy model (IR) and its helpers: the types every stage consumes (./types.ts), label text and well-known
 * keys, selector matching, IP prefixes, ICMP type names, and the builders that translate validated Cilium and
 * Kubernetes policy documents into the model (normally reached through core/policy's `loadPolicyModel`).
 */
export * from './types.js';
export { ANY_SOURCE, CLUSTER_KEY, NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX, SERVICE_ACCOUNT_KEY, formatLabel, parseLabel, parseSelectorKey } from './labels.js';
export { matchesRequirement, matchesSelector } from './selector-match.js';
export { canonicalPrefix, formatAddress, formatPrefix, parseIPv4, parseIPv6, parsePrefix, prefixContains, type Prefix } from './cidr.js';
export { ICMPV4_TYPES, ICMPV6_TYPES, resolveIcmpType } from './icmp-types.js';
export { policyKey, ruleId } from './build-common.js';
export { buildCiliumSpecs } from './build-cilium.js';
export { buildNetworkPolicySpec, effectivePolicyTypes } from './build-network-policy.js';
export { expandProtocol } from './build-ports.js';
