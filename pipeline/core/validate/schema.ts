/**
 * A small structural schema language for policy documents, and its checker. It mirrors what the Kubernetes API
 * server enforces through a CRD's OpenAPI schema (types, enums, patterns, ranges, required fields, one-of groups),
 * but reports each problem at its exact source position with a stable code. Semantic rules live in the check-*.ts
 * modules.
 */
import type { SourcePos } from '../errors.js';
import { has, isNull, keyPos, type YMap, type YNode } from '../load/ynode.js';
import { errorAt, warningAt, type Diagnostic } from './diagnostic.js';

/** A value-level check: returns a message when the value is invalid. */
export type StringCheck = (value: string) => string | undefined;

export type Schema =
  | { readonly t: 'string'; readonly enum?: readonly string[]; readonly check?: StringCheck; readonly code?: string; readonly maxLength?: number }
  | { readonly t: 'int'; readonly min?: number; readonly max?: number }
  | { readonly t: 'bool' }
  /** Kubernetes int-or-string: an integer, or a string passing `check`. */
  | { readonly t: 'int-or-string'; readonly min?: number; readonly max?: number; readonly check?: StringCheck; readonly code?: string }
  | { readonly t: 'array'; readonly items: Schema; readonly maxItems?: number; readonly minItems?: number; readonly maxItemsCode?: string; readonly maxItemsMessage?: string }
  | {
      readonly t: 'object';
      readonly fields: Readonly<Record<string, Schema>>;
      readonly required?: readonly string[];
      /** Schema of every value when the keys are free (label maps). */
      readonly values?: Schema;
      /** Check on every free key (label keys), reported with `keyCode`. */
      readonly keyCheck?: StringCheck;
      readonly keyCode?: string;
      /** Exactly one of these keys must be present (CRD `oneOf` of `required`). */
      readonly exactlyOne?: readonly string[];
      /** At least one of these keys must be present (CRD `anyOf` of `required`). */
      readonly atLeastOne?: readonly string[];
      /** Fields that are allowed but deprecated: a warning with this text. */
      readonly deprecated?: Readonly<Record<string, string>>;
      /** A check over the whole object once its fields are structurally valid (cross-field rules). */
      readonly objectCheck?: (node: YMap, path: string, out: Diagnostic[]) => void;
      /** Fields that are known but rejected with a specific code and message (e.g. fromRequires). */
      readonly rejected?: Readonly<Record<string, { readonly code: string; readonly message: string }>>;
    }
  /** Anything goes (metadata.annotations, status). */
  | { readonly t: 'any' };

function typeName(node: YNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return Number.isInteger(v) ? 'an integer' : 'a number';
}

function describe(schema: Schema): string {
  switch (schema.t) {
    case 'string':
      return 'a string';
    case 'int':
      return 'an integer';
    case 'bool':
      return 'a boolean (true or false)';
    case 'int-or-string':
      return 'an integer or a string';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'any':
      return 'a value';
  }
}

/**
 * Checks `node` against `schema`, appending diagnostics to `out`. `path` is the dotted field path for messages
 * (`spec.ingress[0].toPorts[0]`).
 */
export function checkSchema(node: YNode, schema: Schema, path: string, out: Diagnostic[]): void {
  switch (schema.t) {
    case 'any':
      return;
    case 'string': {
      if (node.kind !== 'scalar' || typeof node.value !== 'string') {
        const hint = node.kind === 'scalar' && typeof node.value === 'number' ? ` (quote it: "${node.value}")` : '';
        out.push(errorAt('schema-type', `${path} must be ${describe(schema)}, not ${typeName(node)}${hint}`, node.pos));
        return;
      }
      checkString(node.value, node.pos, schema, path, out);
      return;
    }
    case 'int': {
      if (node.kind !== 'scalar' || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
        out.push(errorAt('schema-type', `${path} must be an integer, not ${typeName(node)}`, node.pos));
        return;
      }
      checkRange(node.value, node.pos, schema.min, schema.max, path, out);
      return;
    }
    case 'bool':
      if (node.kind !== 'scalar' || typeof node.value !== 'boolean') {
        out.push(errorAt('schema-type', `${path} must be a boolean (true or false), not ${typeName(node)}`, node.pos));
      }
      return;
    case 'int-or-string': {
      if (node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value)) {
        checkRange(node.value, node.pos, schema.min, schema.max, path, out);
        return;
      }
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        const msg = schema.check?.(node.value);
        if (msg) out.push(errorAt(schema.code ?? 'schema-pattern', `${path}: ${msg}`, node.pos));
        return;
      }
      out.push(errorAt('schema-type', `${path} must be an integer or a string, not ${typeName(node)}`, node.pos));
      return;
    }
    case 'array': {
      if (node.kind !== 'seq') {
        out.push(errorAt('schema-type', `${path} must be a list, not ${typeName(node)}`, node.pos));
        return;
      }
      if (schema.maxItems !== undefined && node.items.length > schema.maxItems) {
        out.push(
          errorAt(
            schema.maxItemsCode ?? 'schema-max-items',
            schema.maxItemsMessage ?? `${path} has ${node.items.length} entries, at most ${schema.maxItems} are allowed`,
            node.items[schema.maxItems]?.pos ?? node.pos,
          ),
        );
      }
      if (schema.minItems !== undefined && node.items.length < schema.minItems) {
        out.push(errorAt('schema-min-items', `${path} needs at least ${schema.minItems} entr${schema.minItems === 1 ? 'y' : 'ies'}`, node.pos));
      }
      node.items.forEach((item, i) => checkSchema(item, schema.items, `${path}[${i}]`, out));
      return;
    }
    case 'object':
      if (node.kind !== 'map') {
        out.push(errorAt('schema-type', `${path} must be a mapping, not ${typeName(node)}`, node.pos));
        return;
      }
      checkObject(node, schema, path, out);
      return;
  }
}

/**
 * `record[key]` when it is the record's own property: a policy's keys are untrusted, and `constructor`, `toString`
 * or `__proto__` must not find Object.prototype's members.
 */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function checkObject(node: YMap, schema: Extract<Schema, { t: 'object' }>, path: string, out: Diagnostic[]): void {
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  const fields = schema.fields;
  for (const entry of node.entries) {
    if (isNull(entry.value)) {
      // The API server prunes null fields; say so, because a null often hides a typo or a forgotten value.
      if (own(fields, entry.key)?.t !== 'any') {
        out.push(warningAt('null-ignored', `${at(entry.key)} is empty (null) and is ignored, as if it were not written`, entry.keyPos));
      }
      continue;
    }
    const rejected = schema.rejected && own(schema.rejected, entry.key);
    if (rejected) {
      out.push(errorAt(rejected.code, `${at(entry.key)}: ${rejected.message}`, entry.keyPos));
      continue;
    }
    const known = own(fields, entry.key);
    const sub = known ?? schema.values;
    if (!sub) {
      out.push(warningAt('schema-unknown-field', `unknown field ${at(entry.key)} is ignored (Kubernetes prunes it)${suggest(entry.key, Object.keys(fields))}`, entry.keyPos));
      continue;
    }
    if (!known && schema.keyCheck) {
      const msg = schema.keyCheck(entry.key);
      if (msg) out.push(errorAt(schema.keyCode ?? 'schema-pattern', `${at(entry.key)}: ${msg}`, entry.keyPos));
    }
    const dep = schema.deprecated && own(schema.deprecated, entry.key);
    if (dep) out.push(warningAt('deprecated-field', `${at(entry.key)} is deprecated: ${dep}`, entry.keyPos));
    checkSchema(entry.value, sub, at(entry.key), out);
  }
  for (const req of schema.required ?? []) {
    if (!has(node, req)) out.push(errorAt('schema-required', `${at(req)} is required`, node.pos));
  }
  if (schema.exactlyOne) {
    const present = schema.exactlyOne.filter((k) => has(node, k));
    if (present.length !== 1) {
      const list = schema.exactlyOne.join(', ');
      out.push(
        errorAt(
          'schema-one-of',
          present.length === 0
            ? `${path || 'object'} needs exactly one of ${list}`
            : `${path || 'object'} may have only one of ${list}, found ${present.join(' and ')}`,
          present.length > 1 ? keyPos(node, present[1]!) : node.pos,
        ),
      );
    }
  }
  if (schema.atLeastOne && !schema.atLeastOne.some((k) => has(node, k))) {
    out.push(errorAt('schema-any-of', `${path || 'object'} needs at least one of ${schema.atLeastOne.join(', ')}`, node.pos));
  }
  schema.objectCheck?.(node, path, out);
}

function checkString(value: string, pos: SourcePos, schema: Extract<Schema, { t: 'string' }>, path: string, out: Diagnostic[]): void {
  if (schema.enum && !schema.enum.includes(value)) {
    out.push(errorAt(schema.code ?? 'schema-enum', `${path} must be one of ${schema.enum.join(', ')}, not '${value}'${suggest(value, schema.enum)}`, pos));
    return;
  }
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
    out.push(errorAt('schema-max-length', `${path} is longer than ${schema.maxLength} characters`, pos));
    return;
  }
  const msg = schema.check?.(value);
  if (msg) out.push(errorAt(schema.code ?? 'schema-pattern', `${path}: ${msg}`, pos));
}

function checkRange(v: number, pos: SourcePos, min: number | undefined, max: number | undefined, path: string, out: Diagnostic[]): void {
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    out.push(errorAt('schema-range', `${path} must be between ${min ?? '-∞'} and ${max ?? '∞'}, not ${v}`, pos));
  }
}

/** ` (did you mean 'x'?)` for a near miss (edit distance ≤ 2, or same letters ignoring case). */
export function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c, bestD);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return Math.min(prev[b.length]!, cap);
}
