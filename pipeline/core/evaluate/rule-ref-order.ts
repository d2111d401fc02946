/**
 * Deterministic order of rule references in verdicts, so that every engine prints the same lists.
 */
import type { RuleRef } from '../flow/types.js';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders by kind, namespace (cluster-wide first), name, rule id, file, line. */
export function compareRuleRefs(a: RuleRef, b: RuleRef): number {
  return (
    cmp(a.kind, b.kind) ||
    cmp(a.namespace ?? '', b.namespace ?? '') ||
    cmp(a.name, b.name) ||
    cmp(a.rule, b.rule) ||
    cmp(a.file, b.file) ||
    a.line - b.line
  );
}

/** A sorted copy without duplicates (same kind, namespace, name and rule id). */
export function sortRuleRefs(refs: readonly RuleRef[]): RuleRef[] {
  if (refs.length <= 1) return refs.slice();
  const sorted = refs.slice().sort(compareRuleRefs);
  const out: RuleRef[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && compareRuleRefs(last, r) === 0) continue;
    out.push(r);
  }
  return out;
}
