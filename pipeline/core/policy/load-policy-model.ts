/**
 * The front door of the core: policy files (as text) → the policy model plus every diagnostic. Invalid policy
 * objects are reported and left out of the model, so later stages only ever see valid rules.
 */
import type { SourcePos } from '../errors.js';
import { resolveLoadLimits, type LoadLimits } from '../load/limits.js';
import { documentObjects, type LoadedObject } from '../load/objects.js';
import { parsePolicyText } from '../load/parse-yaml.js';
import type { PolicyFile } from '../load/policy-file.js';
import { buildCiliumSpecs } from '../model/build-cilium.js';
import { policyKey } from '../model/build-common.js';
import { buildNetworkPolicySpec } from '../model/build-network-policy.js';
import type { PolicyKind, PolicyModel, PolicyRef, PolicySpec } from '../model/types.js';
import { checkShadowedAllows } from '../validate/check-shadowing.js';
import { checkFqdnWithoutDns } from '../validate/check-fqdn-dns.js';
import { checkPolicyObject, classifyObject, policyIdentity } from '../validate/check-object.js';
import { errorAt, sortDiagnostics, warningAt, type Diagnostic } from '../validate/diagnostic.js';
import { toPlain, type YNode } from '../load/ynode.js';
import { formatPos } from '../errors.js';

export interface LoadOptions {
  /** Bounds on each file; defaults in DEFAULT_LOAD_LIMITS. */
  readonly limits?: Partial<LoadLimits>;
  /** Namespace of namespaced policies that do not set one (what `kubectl apply` would use). Default `default`. */
  readonly defaultNamespace?: string;
}

export interface PolicyLoadStats {
  readonly files: number;
  /** Non-empty YAML documents read (List items count once each). */
  readonly documents: number;
  /** Valid policy objects that entered the model. */
  readonly policies: number;
  /** Policy objects rejected because of errors. */
  readonly invalid: number;
  /** Objects of other kinds, by kind. */
  readonly skipped: Record<string, number>;
}

export interface PolicyLoadResult {
  readonly model: PolicyModel;
  /** Sorted by file, line, column. */
  readonly diagnostics: Diagnostic[];
  readonly stats: PolicyLoadStats;
}

interface Accepted {
  readonly ref: PolicyRef;
  readonly specs: PolicySpec[];
}

function compareSpecs(a: PolicySpec, b: PolicySpec): number {
  const k = (s: PolicySpec): [string, string, string] => [s.policy.kind, s.policy.namespace ?? '', s.policy.name];
  const [ak, an, am] = k(a);
  const [bk, bn, bm] = k(b);
  return ak.localeCompare(bk, 'en') || cmp(an, bn) || cmp(am, bm) || a.specIndex - b.specIndex;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Loads, validates and translates policy files. Pure and deterministic: the same files give the same model and
 * diagnostics. Never throws on bad input — every problem is a diagnostic.
 */
export function loadPolicyModel(files: readonly PolicyFile[], options: LoadOptions = {}): PolicyLoadResult {
  const limits = resolveLoadLimits(options.limits);
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const diagnostics: Diagnostic[] = [];
  // A Map, not an object: kinds are untrusted text (`constructor`, `__proto__`).
  const skipped = new Map<string, number>();
  const accepted: Accepted[] = [];
  const seen = new Map<string, { pos: SourcePos; root: YNode }>();
  let documents = 0;
  let invalid = 0;

  const sortedFiles = [...files].sort((a, b) => cmp(a.path, b.path));
  for (const file of sortedFiles) {
    const parsed = parsePolicyText(file, limits);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    for (const doc of parsed.documents) {
      const objects = documentObjects(doc);
      documents += objects.length;
      for (const obj of objects) {
        const result = loadObject(obj, defaultNamespace, seen, skipped, diagnostics);
        if (result === 'invalid') invalid++;
        else if (result) accepted.push(result);
      }
    }
  }

  const specs = accepted.flatMap((a) => a.specs).sort(compareSpecs);
  for (const d of checkShadowedAllows(specs)) diagnostics.push(d);
  for (const d of checkFqdnWithoutDns(specs)) diagnostics.push(d);
  const sortedSkipped = Object.fromEntries([...skipped].sort(([a], [b]) => cmp(a, b)));
  return {
    model: { specs, skipped: sortedSkipped },
    diagnostics: sortDiagnostics(diagnostics),
    stats: { files: files.length, documents, policies: accepted.length, invalid, skipped: sortedSkipped },
  };
}

function loadObject(
  obj: LoadedObject,
  defaultNamespace: string,
  seen: Map<string, { pos: SourcePos; root: YNode }>,
  skipped: Map<string, number>,
  diagnostics: Diagnostic[],
): Accepted | 'invalid' | undefined {
  const local: Diagnostic[] = [];
  const cls = classifyObject(obj, local);
  if ('skipped' in cls) {
    skipped.set(cls.skipped, (skipped.get(cls.skipped) ?? 0) + 1);
    return undefined;
  }
  const kind: PolicyKind = cls.policy;
  const { name, namespace } = policyIdentity(obj.root, kind, defaultNamespace);
  checkPolicyObject(obj.root, kind, namespace, local);
  const key = policyKey(kind, namespace, name);
  if (name !== '') {
    const first = seen.get(key);
    if (first) {
      const where = namespace === null ? '' : ` in namespace ${namespace}`;
      // An identical copy is harmless (applying it twice changes nothing); a different one silently replaces the first.
      if (JSON.stringify(toPlain(first.root)) === JSON.stringify(toPlain(obj.root))) {
        diagnostics.push(warningAt('duplicate-policy-identical', `${kind} '${name}'${where} is defined again, identically, at ${formatPos(first.pos)}; this copy is ignored`, obj.pos));
        return undefined;
      }
      local.push(errorAt('duplicate-policy', `${kind} '${name}'${where} is already defined at ${formatPos(first.pos)} with different content`, obj.pos));
    } else {
      seen.set(key, { pos: obj.pos, root: obj.root });
    }
  }
  for (const d of local) diagnostics.push(d);
  if (local.some((d) => d.severity === 'error')) return 'invalid';
  const ref: PolicyRef = { kind, namespace, name, pos: obj.pos };
  const specs = kind === 'NetworkPolicy' ? [buildNetworkPolicySpec(obj.root, ref, key)] : buildCiliumSpecs(obj.root, ref, key);
  return { ref, specs };
}
