/**
 * A parsed YAML/JSON value that remembers where every part of it came from. Validation and the model builders walk
 * this tree instead of plain JS values so that each diagnostic and each model element can point at `file:line:col`.
 */
import type { SourcePos } from '../errors.js';

export type ScalarValue = string | number | boolean | null;

export interface YScalar {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** True when the scalar was quoted in the source (a quoted `"80"` is a string, a plain `80` a number). */
  readonly quoted: boolean;
  readonly pos: SourcePos;
}

export interface YEntry {
  readonly key: string;
  readonly keyPos: SourcePos;
  readonly value: YNode;
}

export interface YMap {
  readonly kind: 'map';
  /** Entries in source order; keys are unique (duplicates are a YAML error). Looked up by linear scan: policy maps
   * have a handful of keys, and a Map per node cost more (allocation and GC) than it saved. */
  readonly entries: readonly YEntry[];
  readonly pos: SourcePos;
}

/** The entry for `key` of a map node, or undefined. */
export function entryOf(node: YMap, key: string): YEntry | undefined {
  for (const e of node.entries) if (e.key === key) return e;
  return undefined;
}

export interface YSeq {
  readonly kind: 'seq';
  readonly items: readonly YNode[];
  readonly pos: SourcePos;
}

export type YNode = YScalar | YMap | YSeq;

/**
 * The value under `key` of a map node; undefined when the node is not a map, lacks the key, or the value is null
 * (Kubernetes treats a null field as absent: the API server prunes it).
 */
export function field(node: YNode | undefined, key: string): YNode | undefined {
  if (node?.kind !== 'map') return undefined;
  const v = entryOf(node, key)?.value;
  return v === undefined || isNull(v) ? undefined : v;
}

/** The items of a sequence node; empty for anything else (absent, null, wrong type). */
export function items(node: YNode | undefined): readonly YNode[] {
  return node?.kind === 'seq' ? node.items : [];
}

/** True when `key` is present with a non-null value. */
export function has(node: YNode | undefined, key: string): boolean {
  return field(node, key) !== undefined;
}

/** True for a null scalar (`key:` with no value, `~`, `null`). */
export function isNull(node: YNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/** The string value of a scalar node (numbers and booleans as written by JS), or undefined. */
export function scalarString(node: YNode | undefined): string | undefined {
  if (node?.kind !== 'scalar' || node.value === null) return undefined;
  return typeof node.value === 'string' ? node.value : String(node.value);
}

/** A plain string field (`metadata.name` and the like); undefined when absent or not a string scalar. */
export function stringField(node: YNode | undefined, key: string): string | undefined {
  const v = field(node, key);
  return v?.kind === 'scalar' && typeof v.value === 'string' ? v.value : undefined;
}

/** Position of the key `key` in a map node (where a "field X is wrong" message should point). */
export function keyPos(node: YNode, key: string): SourcePos {
  return node.kind === 'map' ? (entryOf(node, key)?.keyPos ?? node.pos) : node.pos;
}

/** Converts a located tree back to plain JSON-like data, null fields pruned as the API server does. */
export function toPlain(node: YNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) {
        if (isNull(e.value)) continue;
        // `__proto__` is data here: assigning it would replace the prototype and lose the field.
        if (e.key === '__proto__') Object.defineProperty(out, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
        else out[e.key] = toPlain(e.value);
      }
      return out;
    }
  }
}
