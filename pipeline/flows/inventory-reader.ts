/**
 * Reads inventory files: the JSON or YAML that `kubectl get pods,namespaces,services,nodes -A -o json|yaml` prints (a
 * `List`), or any multi-document YAML / JSON of such objects. Lists are flattened.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { formatBytes, offsetToPos } from '../core/load/text-checks.js';
import { FlowIoError, InventoryError } from './errors.js';
import { printableMessage } from './json-error.js';
import { jsonSyntaxErrorAt } from './json-syntax.js';
import { Inventory } from './inventory.js';

/** Largest inventory file accepted, in bytes (JSON, what `kubectl -o json` prints for large clusters). */
export const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;

/**
 * Largest inventory read as YAML, in bytes: composing YAML costs about 35 MiB of memory and 0.2–0.7 s per MiB
 * (measured), so a 256 MiB YAML file would exhaust the heap; JSON of that size parses natively.
 */
export const MAX_YAML_INVENTORY_BYTES = 32 * 1024 * 1024;

/** Kubernetes objects in `value`: Lists are opened, at most 8 levels of lists and arrays deep. */
function flatten(value: unknown, out: unknown[], depth = 0): void {
  if (Array.isArray(value)) {
    // Deeper arrays hold no objects kubectl prints; hostile nesting must not reach the stack limit.
    if (depth >= 8) return;
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
 * @throws InventoryError with file:line:col on a syntax error (`inventory-parse`), `inventory-too-large` for YAML
 *   beyond MAX_YAML_INVENTORY_BYTES
 */
export function parseInventoryText(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  const trimmed = text.trimStart();
  const tooLargeForYaml = Buffer.byteLength(text, 'utf8') > MAX_YAML_INVENTORY_BYTES;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      flatten(JSON.parse(text), out);
      return out;
    } catch (err) {
      // Broken JSON too large to read as YAML: JSON's own position.
      if (tooLargeForYaml) {
        const bytes = Buffer.from(text, 'utf8');
        const at = Math.max(0, jsonSyntaxErrorAt(bytes, 0, bytes.length));
        const pos = offsetToPos(file, text, bytes.toString('utf8', 0, at).length);
        throw new InventoryError('inventory-parse', `not JSON: ${printableMessage(err)}`, pos, { cause: err });
      }
      // Otherwise on to YAML, a superset, for a positioned message.
    }
  }
  if (tooLargeForYaml) {
    throw new InventoryError(
      'inventory-too-large',
      `a YAML inventory is read up to ${formatBytes(MAX_YAML_INVENTORY_BYTES)}; write larger ones as JSON (kubectl get ... -o json)`,
      { file, line: 0, col: 0 },
    );
  }
  try {
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
  } catch (err) {
    if (err instanceof InventoryError) throw err;
    // The composer recurses (hostile nesting overflows the stack) and refuses alias bombs by throwing.
    throw new InventoryError('inventory-parse', `YAML could not be read: ${printableMessage(err)}`, { file, line: 1, col: 1 }, { cause: err });
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
