/**
 * One Kubernetes object: is it a policy Palisade reads (and which kind), and is it valid — structure, metadata and
 * semantics together. Objects of other kinds are skipped quietly and counted.
 */
import type { LoadedObject } from '../load/objects.js';
import { field, keyPos, stringField, type YNode } from '../load/ynode.js';
import type { PolicyKind } from '../model/types.js';
import { ciliumPolicySchema } from './cilium-schema.js';
import { checkCiliumRuleBlock } from './check-cilium.js';
import { checkNetworkPolicySpec } from './check-network-policy.js';
import { errorAt, warningAt, type Diagnostic } from './diagnostic.js';
import { networkPolicySchema } from './network-policy-schema.js';
import { checkSchema } from './schema.js';
import { checkNamespaceName, checkObjectName } from './value-checks.js';

/** What an object is: a policy of a known kind, or something skipped under a name for the summary. */
export type ObjectClass = { readonly policy: PolicyKind } | { readonly skipped: string };

const CILIUM_API = 'cilium.io/v2';
const NETPOL_API = 'networking.k8s.io/v1';

/** Decides what an object is; reports a policy kind written with the wrong apiVersion. */
export function classifyObject(obj: LoadedObject, out: Diagnostic[]): ObjectClass {
  const root = obj.root;
  if (root.kind !== 'map') return { skipped: '(not an object)' };
  const kind = stringField(root, 'kind');
  if (kind === undefined) return { skipped: '(no kind)' };
  const api = stringField(root, 'apiVersion');
  if (kind === 'CiliumNetworkPolicy' || kind === 'CiliumClusterwideNetworkPolicy') {
    if (api !== CILIUM_API) {
      out.push(errorAt('api-version', `${kind} needs apiVersion ${CILIUM_API}, not ${api ?? '(missing)'}`, api ? (field(root, 'apiVersion') ?? root).pos : root.pos));
    }
    return { policy: kind };
  }
  if (kind === 'NetworkPolicy') {
    if (api !== NETPOL_API) {
      out.push(errorAt('api-version', `NetworkPolicy needs apiVersion ${NETPOL_API}, not ${api ?? '(missing)'}`, api ? (field(root, 'apiVersion') ?? root).pos : root.pos));
    }
    return { policy: 'NetworkPolicy' };
  }
  return { skipped: kind };
}

/** Name and effective namespace (null for cluster-wide) of a policy object; `defaultNamespace` when none is set. */
export function policyIdentity(root: YNode, kind: PolicyKind, defaultNamespace: string): { name: string; namespace: string | null } {
  const md = field(root, 'metadata');
  const name = stringField(md, 'name') ?? '';
  if (kind === 'CiliumClusterwideNetworkPolicy') return { name, namespace: null };
  return { name, namespace: stringField(md, 'namespace') ?? defaultNamespace };
}

/**
 * Every check on one policy object; diagnostics are appended to `out`. `namespace` is the policy's effective
 * namespace (see `policyIdentity`; null for a cluster-wide policy).
 */
export function checkPolicyObject(root: YNode, kind: PolicyKind, namespace: string | null, out: Diagnostic[]): void {
  if (kind === 'NetworkPolicy') {
    checkSchema(root, networkPolicySchema, '', out);
    const spec = field(root, 'spec');
    if (spec) checkNetworkPolicySpec(spec, out);
  } else {
    checkSchema(root, ciliumPolicySchema, '', out);
    const spec = field(root, 'spec');
    if (spec) checkCiliumRuleBlock(spec, kind, namespace, 'spec', out);
    const specs = field(root, 'specs');
    if (specs?.kind === 'seq') specs.items.forEach((b, i) => checkCiliumRuleBlock(b, kind, namespace, `specs[${i}]`, out));
  }
  checkMetadata(root, kind, out);
}

function checkMetadata(root: YNode, kind: PolicyKind, out: Diagnostic[]): void {
  const md = field(root, 'metadata');
  const name = field(md, 'name');
  if (name?.kind === 'scalar' && typeof name.value === 'string') {
    const msg = checkObjectName(name.value);
    if (msg) out.push(errorAt('metadata-name', `metadata.name: ${msg}`, name.pos));
  }
  const ns = field(md, 'namespace');
  if (ns?.kind === 'scalar' && typeof ns.value === 'string') {
    if (kind === 'CiliumClusterwideNetworkPolicy') {
      out.push(warningAt('namespace-ignored', 'metadata.namespace is ignored: a CiliumClusterwideNetworkPolicy is cluster-wide', keyPos(md!, 'namespace')));
    } else {
      const msg = checkNamespaceName(ns.value);
      if (msg) out.push(errorAt('metadata-namespace', `metadata.namespace: ${msg}`, ns.pos));
    }
  }
}
