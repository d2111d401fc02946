/**
 * The reference evaluator: Palisade's verdict semantics written once. `createEvaluator` precompiles a policy model
 * (selectors numbered and cached per identity, regexes compiled, prefixes as integer ranges) and judges normalised
 * flows one at a time, explaining each verdict with the rules that decided it. `DnsCache` holds the DNS answers a
 * recording has shown so far, which `toFQDNs` peers match against. Pure: no I/O.
 */
export { createEvaluator } from './evaluator.js';
export { auditsEndpoint, MAX_AUDIT_NAMESPACES, parseAuditScope, type AuditScope } from './audit-scope.js';
export type { Evaluator, EvaluatorOptions, ServiceInfo, ServicePortInfo } from './types.js';
export { serviceTargetPort } from './service-port.js';
export { DnsCache, normaliseDnsName } from './dns-cache.js';
export { compileNameMatcher, type NameMatcher } from './fqdn-match.js';
export { compileHttpRule, httpRequestParts, type HttpMatcher, type HttpRequestParts } from './http-match.js';
export { canonicalIp, formatIp, ipv4Number, parseCidr, parseIp, rangeContains, type IpRange, type IpValue } from './ip-address.js';
export { compileModel, type CompiledModel, type CompiledRule, type CompiledPeer } from './compile-model.js';
export { Identity, IdentityCache, type DirectionPolicy } from './identity-cache.js';
export { peerMatches, PeerFacts } from './peer-match.js';
export { reverseFlow } from './reverse-flow.js';
export { compareRuleRefs, sortRuleRefs } from './rule-ref-order.js';
