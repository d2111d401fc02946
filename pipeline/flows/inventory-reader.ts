/**
 * Reads inventory files: the JSON or YAML that `kubectl get pods,namespaces,services,nodes -A -o json|yaml` prints (a
 * `List`), or any multi-document YAML / JSON of such objects. Lists are flattened.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { FlowIoError, InventoryError } from './errors.js';
import { Inventory } from './inventory.js';

/** Largest inventory file accepted, in bytes. */
export const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;

function flatten(value: unknown, out: unknown[], depth = 0): void {
  if (Array.isArray(value)) {
    for (const v of value) flatten(v, out, depth + 1);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.items) && (o.kind === undefined || (typeof o.kind === 'string' && o.kind.endsWith('List')))) {
    if (depth < 8) for (const item of o.items) flatten(item, out, depth + 1);
    return;
  }
  out.push(o);
}

/**
 * Parses one inventory text into Kubernetes objects.
 * @throws InventoryError with file:line:col on a syntax error
 */
export function parseInventoryText(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      flatten(JSON.parse(text), out);
      return out;
    } catch (err) {
      // Fall through to YAML, a superset, for a positioned message.
      void err;
    }
  }
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const lp = error.linePos?.[0];
      throw new InventoryError('inventory-parse', error.message.split('\n')[0] ?? 'YAML syntax error', {
        file,
        line: lp?.line ?? 0,
        col: lp?.col ?? 0,
      });
    }
    flatten(doc.toJS({ maxAliasCount: 100 }), out);
  }
  return out;
}

/**
 * Reads and indexes inventory files.
 * @throws FlowIoError when a file cannot be read (exit 2), InventoryError when it cannot be parsed or is too large
 */
export async function readInventory(files: readonly string[]): Promise<Inventory> {
  const objects: unknown[] = [];
  for (const file of files) {
    let text: string;
    try {
      const info = await stat(file);
      if (info.size > MAX_INVENTORY_BYTES) {
        throw new InventoryError('inventory-too-large', `inventory file is ${info.size} bytes; the limit is ${MAX_INVENTORY_BYTES}`, { file, line: 0, col: 0 });
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (err instanceof InventoryError) throw err;
      throw new FlowIoError(file, err);
    }
    objects.push(...parseInventoryText(text, file));
  }
  return new Inventory(objects);
}
