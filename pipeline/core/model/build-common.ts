/** Identifiers shared by the model builders: policy keys and rule ids. */
import type { PolicyKind } from './types.js';

const SHORT: Readonly<Record<PolicyKind, string>> = {
  CiliumNetworkPolicy: 'cnp',
  CiliumClusterwideNetworkPolicy: 'ccnp',
  NetworkPolicy: 'knp',
};

/** `cnp/<ns>/<name>`, `ccnp/<name>`, `knp/<ns>/<name>`: unique per policy object in a valid model. */
export function policyKey(kind: PolicyKind, namespace: string | null, name: string): string {
  return namespace === null ? `${SHORT[kind]}/${name}` : `${SHORT[kind]}/${namespace}/${name}`;
}

/** `<policy key>/<spec index>/<direction>[-deny]/<rule index>`. */
export function ruleId(key: string, specIndex: number, direction: 'ingress' | 'egress', deny: boolean, index: number): string {
  return `${key}/${specIndex}/${direction}${deny ? '-deny' : ''}/${index}`;
}
