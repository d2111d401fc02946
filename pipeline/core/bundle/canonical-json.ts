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
      // Plain loops and one join per level: no closures or intermediate filtered arrays on this hot path (the
      // policy model of a large bundle is tens of megabytes); nested joins keep every level a flat string.
      if (Array.isArray(v)) {
        const n = v.length;
        if (n === 0) return '[]';
        const items = new Array<string>(n);
        for (let i = 0; i < n; i++) {
          const x: unknown = v[i];
          items[i] = x === undefined ? 'null' : write(x);
        }
        return `[${items.join(',')}]`;
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      const members: string[] = [];
      for (const k of keys) {
        const x = o[k];
        // Like JSON.stringify, absent and undefined members are the same thing.
        if (x !== undefined) members.push(`${JSON.stringify(k)}:${write(x)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
  }
}
