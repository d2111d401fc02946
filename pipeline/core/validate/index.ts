/**
 * Validation of policy objects: structural checks mirroring the CRD/API schemas, Cilium's and Kubernetes' semantic
 * rules (applied to every block of `specs`), and warnings for legal but suspicious rules. Every finding is a
 * `Diagnostic` with a stable code and a source position.
 */
export { compareDiagnostics, countDiagnostics, errorAt, filePos, sortDiagnostics, warningAt, type Diagnostic, type Severity } from './diagnostic.js';
export { checkPolicyObject, classifyObject, policyIdentity, type ObjectClass } from './check-object.js';
export { checkShadowedAllows, denyCovers } from './check-shadowing.js';
export { checkFqdnWithoutDns } from './check-fqdn-dns.js';
export { checkSchema, type Schema } from './schema.js';
export { checkCidr, checkDnsName, checkDnsPattern, checkLabelKey, checkLabelValue, checkPortString, checkRe2, isServiceName } from './value-checks.js';
export { DIAGNOSTIC_CODES } from './codes.js';
