/**
 * Label selectors → normalised `Selector`s, with namespace scoping made explicit. Cilium keys keep their source
 * prefix (`k8s:app`, `reserved:host`; none = any source); Kubernetes NetworkPolicy keys are pod labels (`k8s`).
 */
import type { YNode } from '../load/ynode.js';
import { field, scalarString } from '../load/ynode.js';
import { ANY_SOURCE, NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX, parseSelectorKey } from './labels.js';
import type { LabelRequirement, Selector, SelectorOperator, SourcePos } from './types.js';

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** How selector keys are read: Cilium (`source:key`, default any source) or Kubernetes (pod labels, k8s source). */
export type KeyStyle = 'cilium' | 'k8s';

/**
 * Requirements of a (validated) label selector node, unsorted. `mapKey` rewrites each key (namespace labels);
 * `omitMatchLabel` drops `matchLabels` entries by their parsed source and key (matchExpressions are always kept).
 */
export function selectorRequirements(
  node: YNode | undefined,
  style: KeyStyle,
  mapKey: (key: string) => string = (k) => k,
  omitMatchLabel?: (source: string, key: string) => boolean,
): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  const split = (k: string): { source: string; key: string } => (style === 'cilium' ? parseSelectorKey(k) : { source: 'k8s', key: k });
  const ml = field(node, 'matchLabels');
  if (ml?.kind === 'map') {
    for (const e of ml.entries) {
      const { source, key } = split(e.key);
      if (omitMatchLabel?.(source, key)) continue;
      out.push({ source, key: mapKey(key), operator: 'In', values: [scalarString(e.value) ?? ''] });
    }
  }
  const me = field(node, 'matchExpressions');
  if (me?.kind === 'seq') {
    for (const expr of me.items) {
      const keyText = scalarString(field(expr, 'key'));
      const op = scalarString(field(expr, 'operator'));
      if (keyText === undefined || op === undefined || !OPERATORS.includes(op)) continue;
      const { source, key } = split(keyText);
      const vals = field(expr, 'values');
      const values = vals?.kind === 'seq' ? vals.items.map((v) => scalarString(v) ?? '') : [];
      out.push({ source, key: mapKey(key), operator: op as SelectorOperator, values: op === 'Exists' || op === 'DoesNotExist' ? [] : values });
    }
  }
  return out;
}

function compareReq(a: LabelRequirement, b: LabelRequirement): number {
  return cmp(a.source, b.source) || cmp(a.key, b.key) || cmp(a.operator, b.operator) || cmp(a.values.join('\u0000'), b.values.join('\u0000'));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Builds a sorted, de-duplicated selector (values sorted and unique). */
export function makeSelector(requirements: readonly LabelRequirement[], pos: SourcePos): Selector {
  const norm = requirements.map((r) => ({ ...r, values: [...new Set(r.values)].sort() }));
  norm.sort(compareReq);
  const unique = norm.filter((r, i) => i === 0 || compareReq(norm[i - 1]!, r) !== 0);
  return { requirements: unique, pos };
}

/**
 * True when a Cilium peer selector already decides the namespace: it names the namespace key, uses namespace-label
 * keys, or selects reserved identities (which have no namespace).
 */
export function namesNamespace(requirements: readonly LabelRequirement[]): boolean {
  return requirements.some(
    (r) =>
      ((r.source === ANY_SOURCE || r.source === 'k8s') && (r.key === NAMESPACE_KEY || r.key.startsWith(NAMESPACE_LABELS_PREFIX))) ||
      r.source === 'reserved',
  );
}

/** `k8s:io.kubernetes.pod.namespace In [ns]`. */
export function inNamespace(ns: string): LabelRequirement {
  return { source: 'k8s', key: NAMESPACE_KEY, operator: 'In', values: [ns] };
}

/** `k8s:io.kubernetes.pod.namespace Exists`: any pod, in any namespace (not host, world or other reserved identities). */
export const ANY_NAMESPACE: LabelRequirement = { source: 'k8s', key: NAMESPACE_KEY, operator: 'Exists', values: [] };
