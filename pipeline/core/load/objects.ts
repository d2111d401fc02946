/**
 * Documents → Kubernetes objects: a `kind: List` (or any `*List` kind, e.g. `CiliumNetworkPolicyList`) with an
 * `items` list stands for its items; every other document is one object.
 */
import type { SourcePos } from '../errors.js';
import type { ParsedDocument } from './parse-yaml.js';
import { field, stringField, type YNode } from './ynode.js';

/** One object of a file. `listIndex` is set when it came from a List's `items`. */
export interface LoadedObject {
  readonly file: string;
  readonly docIndex: number;
  readonly listIndex?: number;
  readonly root: YNode;
  readonly pos: SourcePos;
}

/** Expands usable documents into objects; empty and failed documents yield nothing. */
export function documentObjects(doc: ParsedDocument): LoadedObject[] {
  if (doc.failed || doc.root === null) return [];
  const root = doc.root;
  if (root.kind === 'scalar' && root.value === null) return [];
  const kind = stringField(root, 'kind');
  const list = field(root, 'items');
  if (kind !== undefined && (kind === 'List' || kind.endsWith('List')) && list?.kind === 'seq') {
    return list.items.map((item, listIndex) => ({ file: doc.file, docIndex: doc.index, listIndex, root: item, pos: item.pos }));
  }
  return [{ file: doc.file, docIndex: doc.index, root, pos: root.pos }];
}
