/**
 * Label-selector matching, the one implementation shared by validation, the reference evaluator and the compiler.
 * Semantics are apimachinery's: requirements are ANDed; `NotIn` and `DoesNotExist` match when the key is absent;
 * a requirement with source `any` matches a label of that key from any source.
 */
import { ANY_SOURCE } from './labels.js';
import type { Label, LabelRequirement, Selector } from './types.js';

function sourceMatches(requirement: LabelRequirement, label: Label): boolean {
  return label.key === requirement.key && (requirement.source === ANY_SOURCE || requirement.source === label.source);
}

/** True when one requirement holds for the label set. */
export function matchesRequirement(requirement: LabelRequirement, labels: readonly Label[]): boolean {
  switch (requirement.operator) {
    case 'Exists':
      return labels.some((l) => sourceMatches(requirement, l));
    case 'DoesNotExist':
      return !labels.some((l) => sourceMatches(requirement, l));
    case 'In':
      return labels.some((l) => sourceMatches(requirement, l) && requirement.values.includes(l.value));
    case 'NotIn':
      return !labels.some((l) => sourceMatches(requirement, l) && requirement.values.includes(l.value));
  }
}

/**
 * True when every requirement of the selector holds for `labels`. An empty selector matches every label set; what
 * that means (all pods of a namespace, all endpoints...) is already encoded in the selector's requirements.
 */
export function matchesSelector(selector: Selector, labels: readonly Label[]): boolean {
  for (const r of selector.requirements) if (!matchesRequirement(r, labels)) return false;
  return true;
}
