/**
 * Label text in Cilium's `source:key=value` notation: parsing and printing, plus the well-known keys Palisade uses
 * to make namespace scoping explicit.
 */
import type { Label } from './types.js';

/** The pod's namespace, as Cilium labels it. */
export const NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
/** Prefix of namespace labels copied onto pods: `io.cilium.k8s.namespace.labels.<key>`. */
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';
/** The pod's service account. */
export const SERVICE_ACCOUNT_KEY = 'io.cilium.k8s.policy.serviceaccount';
/** The cluster name. */
export const CLUSTER_KEY = 'io.cilium.k8s.policy.cluster';

/** Source used for selector keys written without a prefix: matches labels of any source. */
export const ANY_SOURCE = 'any';

/**
 * Splits a selector key into source and key the way Cilium does: `k8s:app` → (k8s, app); `app` → (any, app);
 * `$host` → (reserved, host). Only the first `:` separates.
 */
export function parseSelectorKey(text: string): { source: string; key: string } {
  if (text.startsWith('$')) return { source: 'reserved', key: text.slice(1) };
  const i = text.indexOf(':');
  if (i < 0) return { source: ANY_SOURCE, key: text };
  return { source: text.slice(0, i), key: text.slice(i + 1) };
}

/** Parses one label in `source:key=value` text (the Hubble form); a missing source is `unspec`, a missing value ''. */
export function parseLabel(text: string): Label {
  const i = text.indexOf(':');
  const source = i < 0 ? 'unspec' : text.slice(0, i);
  const rest = i < 0 ? text : text.slice(i + 1);
  const eq = rest.indexOf('=');
  return eq < 0 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

/** Prints a label as `source:key=value` (or `source:key` when the value is empty). */
export function formatLabel(label: Label): string {
  return label.value === '' ? `${label.source}:${label.key}` : `${label.source}:${label.key}=${label.value}`;
}
