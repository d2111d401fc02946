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
