/** RBAC rules of a manifest, matched against the requests the fake API server recorded. */
import type { ApiCall } from '../support/fake-kube-apiserver.js';

/** One PolicyRule of a Role or ClusterRole. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** The rules of the Roles and ClusterRoles named `name` among `docs`. */
export function rulesOf(docs: readonly Record<string, unknown>[], name: string): PolicyRule[] {
  return docs.filter((d) => (d.kind === 'Role' || d.kind === 'ClusterRole') && (d.metadata as { name?: string }).name === name).flatMap((d) => d.rules as PolicyRule[]);
}

function grants(rule: PolicyRule, group: string, resource: string, verb: string, name: string | undefined): boolean {
  return rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb) && (rule.resourceNames === undefined || (name !== undefined && rule.resourceNames.includes(name)));
}

const split = (call: ApiCall): [string, string] => {
  const i = call.resource.indexOf('/');
  return [call.resource.slice(0, i), call.resource.slice(i + 1)];
};

/**
 * What does not match between `rules` and `calls`: calls no rule grants (`denied`), and grants no call used
 * (`unused`, as `group/resource verb [name]`). Both empty: the rules are exactly what the code calls.
 */
export function compareRbac(rules: readonly PolicyRule[], calls: readonly ApiCall[]): { denied: string[]; unused: string[] } {
  const denied = new Set<string>();
  for (const c of calls) {
    const [group, resource] = split(c);
    if (!rules.some((r) => grants(r, group, resource, c.verb, c.name))) denied.add(`${c.verb} ${c.resource}${c.name ? ` ${c.name}` : ''}`);
  }
  const unused: string[] = [];
  for (const r of rules) {
    for (const group of r.apiGroups) {
      for (const resource of r.resources) {
        for (const verb of r.verbs) {
          const used = calls.some((c) => split(c)[0] === group && split(c)[1] === resource && c.verb === verb && (r.resourceNames === undefined || r.resourceNames.includes(c.name ?? '')));
          if (!used) unused.push(`${group}/${resource} ${verb}${r.resourceNames ? ` ${r.resourceNames.join(',')}` : ''}`);
        }
      }
    }
  }
  return { denied: [...denied].sort(), unused };
}
