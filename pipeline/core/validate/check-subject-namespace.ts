/**
 * A namespaced CiliumNetworkPolicy's endpointSelector always applies in the policy's own namespace. Cilium sets
 * `matchLabels['k8s:io.kubernetes.pod.namespace']` to that namespace when it parses the policy (ParseToCiliumRule),
 * replacing an author's value under exactly that key and logging "illegal namespace match"; the same key without the
 * `k8s:` prefix, or a matchExpressions on it, stays and is ANDed with the policy's namespace. Either way a selector
 * that names another namespace does not do what it says: each such spelling gets a positioned warning saying what
 * Cilium makes of it.
 */
import type { YNode } from '../load/ynode.js';
import { field, items, keyPos, scalarString } from '../load/ynode.js';
import { ANY_SOURCE, NAMESPACE_KEY, parseSelectorKey } from '../model/labels.js';
import { warningAt, type Diagnostic } from './diagnostic.js';

const CODE = 'subject-namespace-mismatch';

function isNamespaceKey(text: string): { readonly k8s: boolean } | undefined {
  const { source, key } = parseSelectorKey(text);
  if (key !== NAMESPACE_KEY) return undefined;
  if (source === 'k8s') return { k8s: true };
  return source === ANY_SOURCE ? { k8s: false } : undefined;
}

const quote = (names: readonly string[]): string => names.map((n) => `'${n}'`).join(', ');

/**
 * Warns about every namespace other than `namespace` that the endpointSelector `selector` (at field path `path`)
 * names under the pod-namespace key.
 * @param namespace the policy's namespace (its metadata.namespace, or the default namespace it is loaded into)
 */
export function checkSubjectNamespace(selector: YNode, namespace: string, path: string, out: Diagnostic[]): void {
  const ml = field(selector, 'matchLabels');
  if (ml?.kind === 'map') {
    for (const e of ml.entries) {
      const which = isNamespaceKey(e.key);
      const value = scalarString(e.value);
      if (which === undefined || value === undefined || value === namespace) continue;
      const where = `${path}.matchLabels['${e.key}']`;
      const effect = which.k8s
        ? `Cilium replaces it with the policy's namespace ('illegal namespace match'), so the policy selects pods of '${namespace}', not of '${value}'`
        : `Cilium keeps it beside its own match on '${namespace}' (only the 'k8s:' spelling is replaced), so the policy selects no pod`;
      out.push(warningAt(CODE, `${where} names namespace '${value}', but a CiliumNetworkPolicy in '${namespace}' only selects pods of '${namespace}': ${effect}`, keyPos(ml, e.key)));
    }
  }
  items(field(selector, 'matchExpressions')).forEach((expr, i) => {
    const keyText = scalarString(field(expr, 'key'));
    const op = scalarString(field(expr, 'operator'));
    if (keyText === undefined || isNamespaceKey(keyText) === undefined || (op !== 'In' && op !== 'NotIn')) return;
    const values = items(field(expr, 'values'))
      .map((v) => scalarString(v))
      .filter((v): v is string => v !== undefined);
    const others = values.filter((v) => v !== namespace);
    if (others.length === 0) return;
    const own = values.includes(namespace);
    const effect =
      op === 'In'
        ? own
          ? `only '${namespace}' can ever match; ${quote(others)} never does`
          : 'Cilium ANDs it with the policy\'s namespace, so the policy selects no pod'
        : own
          ? 'Cilium ANDs it with the policy\'s namespace, so the policy selects no pod'
          : 'it has no effect';
    out.push(
      warningAt(
        CODE,
        `${path}.matchExpressions[${i}] (${keyText} ${op}) names ${quote(others)}, but a CiliumNetworkPolicy in '${namespace}' only selects pods of '${namespace}': ${effect}`,
        (field(expr, 'key') ?? expr).pos,
      ),
    );
  });
}
