/**
 * Canonical JSON: object keys sorted by UTF-16 code unit, no whitespace, numbers as JSON.stringify prints them.
 * The same value always gives the same bytes, which is what makes manifests, statements and components
 * content-addressable and bundles reproducible.
 */

/**
 * Serialises `value` canonically.
 * @returns the JSON text (no trailing newline).
 * @throws TypeError for values JSON cannot represent faithfully (non-finite numbers, bigint, functions, symbols).
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

/** {@link canonicalJson} as UTF-8 bytes. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(write(value));
}

function write(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`canonical JSON cannot hold ${v}`);
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : write(x))).join(',')}]`;
      const o = v as Record<string, unknown>;
      // Like JSON.stringify, absent and undefined members are the same thing.
      const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(o[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
  }
}
