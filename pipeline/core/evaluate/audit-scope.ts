/**
 * Audit: a generation that judges every packet but forwards what it would drop, reporting it as verdict AUDIT (as
 * Hubble does). Its scope is every enforcement point, or the pods of some namespaces; all three engines take the same
 * scope and must give the same AUDIT verdicts.
 */
import type { FlowEndpoint } from '../flow/types.js';

/** Where a generation audits instead of dropping. */
export type AuditScope =
  /** Every enforcement point: pods, and node endpoints a host policy selects. */
  | { readonly kind: 'all' }
  /** The pods of these namespaces only (node endpoints keep enforcing). */
  | { readonly kind: 'namespaces'; readonly namespaces: readonly string[] };

/** Does `scope` audit the enforcement point `e` (a pod or node endpoint)? False without a scope. */
export function auditsEndpoint(scope: AuditScope | undefined, e: FlowEndpoint): boolean {
  if (scope === undefined) return false;
  if (scope.kind === 'all') return true;
  return e.kind === 'pod' && e.namespace !== undefined && scope.namespaces.includes(e.namespace);
}

/** Most namespaces one audit scope names (a scope comes from records and files: bounded). */
export const MAX_AUDIT_NAMESPACES = 256;

/**
 * An audit scope from untrusted JSON: `{kind: 'all'}` or `{kind: 'namespaces', namespaces: [...]}` (at most
 * MAX_AUDIT_NAMESPACES names of at most 63 characters).
 * @returns the scope, or undefined when malformed
 */
export function parseAuditScope(v: unknown): AuditScope | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const a = v as { kind?: unknown; namespaces?: unknown };
  if (a.kind === 'all' && Object.keys(a).length === 1) return { kind: 'all' };
  if (a.kind !== 'namespaces' || !Array.isArray(a.namespaces) || a.namespaces.length > MAX_AUDIT_NAMESPACES) return undefined;
  if (!a.namespaces.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 63)) return undefined;
  return { kind: 'namespaces', namespaces: [...(a.namespaces as string[])].sort() };
}
