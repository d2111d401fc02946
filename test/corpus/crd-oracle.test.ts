/**
 * Independent oracle: the official CRD OpenAPI v3 schemas of CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
 * from the corpus, compiled with ajv. fast-check mutates real corpus policies; whatever the CRD schema rejects,
 * `loadPolicyModel` must reject too (it may reject more: Cilium's own semantic checks go beyond the schema).
 *
 * Oracle set-up, as the Kubernetes API server would apply the schema: Go's `\PC` becomes `\P{C}` (u flag); formats
 * `cidr` (address/bits), `int32` and `idn-hostname` (no whitespace or control characters; the API server does not
 * know this format and Cilium reads `host` as a regular expression) get handlers; null fields are pruned before
 * validation, as the API server prunes them.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { CORPUS_CILIUM, corpusAvailable, listFiles } from './corpus-dir.js';

const present = corpusAvailable();
if (!present && process.env.CI !== 'true') console.warn(`[crd-oracle] skipped: corpus not found at ${CORPUS_CILIUM}`);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Go regex syntax → JS (u flag): `\PC` (not a control char) → `\P{C}`. */
function goPatterns(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(goPatterns);
  if (schema && typeof schema === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(schema)) out[k] = k === 'pattern' && typeof v === 'string' ? v.replace(/\\PC/g, '\\P{C}') : goPatterns(v);
    return out;
  }
  return schema;
}

function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const bits = Number(m[2]);
  if (isIPv4(m[1]!)) return bits <= 32 && !/(^|\.)0\d/.test(m[1]!);
  return isIPv6(m[1]!) && bits <= 128;
}

function compileCrd(file: string): ValidateFunction {
  const crd = parse(readFileSync(path.join(CORPUS_CILIUM, 'pkg/k8s/apis/cilium.io/client/crds/v2', file), 'utf8')) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Json } }> };
  };
  const v2 = crd.spec.versions.find((v) => v.name === 'v2')!;
  const ajv = new Ajv({ strict: false, unicodeRegExp: true, allErrors: false });
  ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('idn-hostname', { type: 'string', validate: (s: string) => s.length > 0 && !/[\s\p{C}]/u.test(s) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  return ajv.compile(goPatterns(v2.schema.openAPIV3Schema) as object);
}

function pruneNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (v && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = pruneNulls(x);
    return out;
  }
  return v;
}

/** Every path (as key lists) to a value under spec/specs. */
function paths(v: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  const visit = (x: Json, p: Array<string | number>): void => {
    out.push(p);
    if (Array.isArray(x)) x.forEach((y, i) => visit(y, [...p, i]));
    else if (x && typeof x === 'object') for (const [k, y] of Object.entries(x)) visit(y, [...p, k]);
  };
  for (const top of ['spec', 'specs']) {
    const x = (v as { [k: string]: Json })[top];
    if (x !== undefined) visit(x, [...prefix, top]);
  }
  return out.filter((p) => p.length > 1);
}

type Mutation =
  | { op: 'delete' }
  | { op: 'replace'; value: Json }
  | { op: 'string-edit'; suffix: string }
  | { op: 'duplicate-item'; times: number }
  | { op: 'add-key'; key: string; value: Json };

function applyMutation(doc: Json, at: Array<string | number>, m: Mutation): Json {
  const copy = structuredClone(doc) as { [k: string]: Json };
  let parent: Json = copy;
  for (const k of at.slice(0, -1)) parent = (parent as { [k: string]: Json })[k as string] as Json;
  const last = at[at.length - 1]!;
  const holder = parent as { [k: string]: Json } & Json[];
  const cur = holder[last as string];
  switch (m.op) {
    case 'delete':
      if (Array.isArray(holder)) holder.splice(last as number, 1);
      else delete holder[last as string];
      break;
    case 'replace':
      holder[last as string] = m.value;
      break;
    case 'string-edit':
      holder[last as string] = typeof cur === 'string' ? cur + m.suffix : m.suffix;
      break;
    case 'duplicate-item':
      if (Array.isArray(cur) && cur.length > 0) for (let i = 0; i < m.times; i++) cur.push(structuredClone(cur[i % cur.length]!));
      break;
    case 'add-key':
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) (cur as { [k: string]: Json })[m.key] = m.value;
      break;
  }
  return copy;
}

const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -70000, max: 70000 }),
  fc.boolean(),
  fc.constantFrom<Json>('', 'TCP', 'ANY', 'VRRP', '0', '80', '65536', 'http', '10.0.0.0/8', '10.0.0.1', '::/0', 'world', 'In', 'Exists', 'GET', '(', '*', 'a b', '-x', 1.5, -1),
);
const value: fc.Arbitrary<Json> = fc.oneof(leaf, fc.constant<Json>({}), fc.constant<Json>([]), fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.constantFrom('port', 'protocol', 'cidr', 'except', 'matchLabels', 'matchName', 'http', 'dns', 'ports', 'rules', 'endPort', 'type', 'family'), leaf, { maxKeys: 2 }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ op: 'delete' }),
  value.map((v): Mutation => ({ op: 'replace', value: v })),
  fc.constantFrom('x', ' ', '/', '*', '-', '0', 'é', '.', '..', '{').map((s): Mutation => ({ op: 'string-edit', suffix: s })),
  fc.integer({ min: 1, max: 45 }).map((n): Mutation => ({ op: 'duplicate-item', times: n })),
  fc.tuple(fc.constantFrom('fromEndpoints', 'toCIDR', 'toFQDNs', 'icmps', 'toPorts', 'rules', 'endPort', 'nodeSelector', 'x-unknown'), value).map(([key, v]): Mutation => ({ op: 'add-key', key, value: v })),
);

describe.skipIf(!present && process.env.CI !== 'true')('CRD schema oracle', () => {
  const validators = present
    ? { CiliumNetworkPolicy: compileCrd('ciliumnetworkpolicies.yaml'), CiliumClusterwideNetworkPolicy: compileCrd('ciliumclusterwidenetworkpolicies.yaml') }
    : undefined;
  const policies: Array<{ file: string; doc: Json; kind: 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' }> = [];
  if (present) {
    for (const f of listFiles(CORPUS_CILIUM)) {
      const text = readFileSync(path.join(CORPUS_CILIUM, f), 'utf8');
      if (text.includes('{{') || f.startsWith('pkg/')) continue;
      for (const d of parseAllDocuments(text)) {
        if (!('toJS' in d)) continue;
        const js = d.toJS() as Json;
        const kind = (js as { kind?: string } | null)?.kind;
        if (kind === 'CiliumNetworkPolicy' || kind === 'CiliumClusterwideNetworkPolicy') policies.push({ file: f, doc: js, kind });
      }
    }
  }

  it('finds the CRD schemas and corpus policies (required under CI)', () => {
    expect(present).toBe(true);
    expect(policies.length).toBeGreaterThan(150);
  });

  it('agrees with the CRD on the unmutated corpus: what the schema rejects, validate rejects', () => {
    let rejectedByCrd = 0;
    for (const p of policies) {
      const crdOk = validators![p.kind](pruneNulls(p.doc));
      const ours = loadPolicyModel([{ path: p.file, text: stringify(p.doc) }]);
      if (!crdOk) {
        rejectedByCrd++;
        expect(ours.diagnostics.some((d) => d.severity === 'error'), `${p.file}: CRD rejects, validate accepts`).toBe(true);
      }
    }
    // requires.yaml (fromRequires) and the three NODE_WITHOUT_CILIUM_IP placeholders.
    expect(rejectedByCrd).toBe(4);
  });

  it('rejects every mutation the CRD schema rejects', () => {
    let crdRejections = 0;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), mutation, (pi, pathIndex, m) => {
        const p = policies[pi % policies.length]!;
        const all = paths(p.doc);
        if (all.length === 0) return;
        const mutated = applyMutation(p.doc, all[pathIndex % all.length]!, m);
        const crdOk = validators![p.kind](pruneNulls(mutated));
        if (crdOk) return;
        crdRejections++;
        const ours = loadPolicyModel([{ path: p.file, text: stringify(mutated) }]);
        const errors = ours.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length === 0) {
          throw new Error(`CRD rejects (${JSON.stringify(validators![p.kind].errors?.[0])}) but validate accepts:\n${stringify(mutated)}`);
        }
      }),
      { numRuns: Number(process.env.ORACLE_RUNS ?? 600) },
    );
    // The property must have had something to check.
    expect(crdRejections).toBeGreaterThan(50);
  }, 600_000);
});
