/**
 * Label sets indexed by key, and selectors compiled against them. The semantics are apimachinery's, with Cilium's
 * label sources: a requirement whose source is `any` accepts a label of that key from any source; `NotIn` and
 * `DoesNotExist` hold when no label of that key (and source) exists.
 */
import type { Label, LabelRequirement, Selector } from '../model/types.js';

/** key → the (source, value) pairs carrying it. */
export type LabelIndex = ReadonlyMap<string, readonly { readonly source: string; readonly value: string }[]>;

/** Indexes a label list by key. */
export function indexLabels(labels: readonly Label[]): LabelIndex {
  const index = new Map<string, { source: string; value: string }[]>();
  for (const l of labels) {
    const list = index.get(l.key);
    if (list) list.push({ source: l.source, value: l.value });
    else index.set(l.key, [{ source: l.source, value: l.value }]);
  }
  return index;
}

/** A compiled selector: true when the indexed label set satisfies every requirement. */
export type CompiledSelector = (labels: LabelIndex) => boolean;

function compileRequirement(req: LabelRequirement): CompiledSelector {
  const anySource = req.source === 'any';
  const values = new Set(req.values);
  const candidates = (labels: LabelIndex): { source: string; value: string }[] => {
    const list = labels.get(req.key);
    if (!list) return [];
    return anySource ? [...list] : list.filter((l) => l.source === req.source);
  };
  switch (req.operator) {
    case 'In':
      return (labels) => candidates(labels).some((l) => values.has(l.value));
    case 'NotIn':
      return (labels) => !candidates(labels).some((l) => values.has(l.value));
    case 'Exists':
      return (labels) => candidates(labels).length > 0;
    case 'DoesNotExist':
      return (labels) => candidates(labels).length === 0;
  }
}

/** Compiles a selector (AND of its requirements; no requirements selects every label set). */
export function compileSelector(selector: Selector): CompiledSelector {
  const tests = selector.requirements.map(compileRequirement);
  if (tests.length === 0) return () => true;
  return (labels) => {
    for (const t of tests) if (!t(labels)) return false;
    return true;
  };
}

/** A stable text form of a selector's requirements, to share one compiled selector between equal ones. */
export function selectorKey(selector: Selector): string {
  return JSON.stringify(selector.requirements.map((r) => [r.source, r.key, r.operator, r.values]));
}

/** True when some requirement names a `reserved:` label: such selectors may pick reserved identities. */
export function selectorNamesReserved(selector: Selector): boolean {
  return selector.requirements.some((r) => r.source === 'reserved');
}
