/**
 * Audit on this node: which local addresses an audit scope covers and the datapath mode that carries it (every
 * endpoint: PALISADE_CONTROL_AUDIT; some namespaces: their endpoints flagged, PALISADE_CONTROL_AUDIT_FLAGGED).
 */
import { auditsEndpoint, type AuditScope } from '../../pipeline/core/evaluate/index.js';
import type { AuditMode } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';

/** The control-map audit mode of a scope (undefined: enforce). */
export function datapathAuditMode(audit: AuditScope | undefined): AuditMode {
  return audit === undefined ? 'off' : audit.kind === 'all' ? 'all' : 'flagged';
}

/** Addresses of the pods that `audit` covers (the endpoint rows to flag), from each pod address and namespace. */
export function auditedAddresses(pods: Iterable<{ readonly ip: string; readonly namespace?: string | undefined }>, audit: AuditScope | undefined): Set<string> {
  const out = new Set<string>();
  if (audit === undefined) return out;
  for (const { ip, namespace } of pods) {
    if (ip !== '' && auditsEndpoint(audit, { kind: 'pod', ip, labels: [], ...(namespace !== undefined ? { namespace } : {}) })) out.add(ip);
  }
  return out;
}

/** Each address of each pod of `endpoints`, with its namespace. */
export function podAddressesOf(endpoints: EndpointSet): { ip: string; namespace: string }[] {
  return endpoints.pods.flatMap((p) => p.ips.map((ip) => ({ ip, namespace: p.namespace })));
}

/** `enforce` or `audit`, as a rollout report says it. */
export function modeOf(audit: AuditScope | undefined): 'enforce' | 'audit' {
  return audit === undefined ? 'enforce' : 'audit';
}

/** Same scope? (undefined = enforce). */
export function sameAudit(a: AuditScope | undefined, b: AuditScope | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
