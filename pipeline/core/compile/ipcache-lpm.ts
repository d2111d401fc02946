/**
 * The ipcache as a longest-prefix-match table over addresses, the TypeScript mirror of the ipcache LPM trie: used by
 * the compiler to decide which host rows are needed, and by the tables engine for every packet's peer identity.
 */
import { formatIp, parseCidr, parseIp } from '../evaluate/ip-address.js';
import type { IpcacheEntry } from './entries.js';
import { CompileError } from './errors.js';

interface Row {
  readonly prefix: string;
  readonly identity: number;
}

/** A mutable LPM table prefix → identity, per family. */
export class IpcacheLpm {
  // family → prefix bits → network value → row
  private readonly tables = new Map<4 | 6, Map<number, Map<bigint, Row>>>([
    [4, new Map()],
    [6, new Map()],
  ]);
  // Rows set since `trackChanges`/`takeChanges`, by canonical prefix (last identity wins); undefined: not tracking.
  private changes: Map<string, number> | undefined;

  /** Builds a table from compiled entries. @throws CompileError on a prefix that does not parse */
  static from(entries: readonly IpcacheEntry[]): IpcacheLpm {
    const t = new IpcacheLpm();
    for (const e of entries) t.set(e.prefix, e.identity);
    return t;
  }

  /**
   * Sets the identity of a prefix (a bare address is a host prefix), replacing a row of the same prefix.
   * @throws CompileError when the text is not a prefix
   */
  set(prefix: string, identity: number): void {
    const range = parseCidr(prefix);
    if (range === null) throw new CompileError('bad-address', `not an IP prefix: ${JSON.stringify(prefix)}`);
    const canonical = `${formatIp({ family: range.family, value: range.lo })}/${range.bits}`;
    const byBits = this.tables.get(range.family)!;
    let rows = byBits.get(range.bits);
    if (!rows) byBits.set(range.bits, (rows = new Map()));
    rows.set(range.lo, { prefix: canonical, identity });
    this.changes?.set(canonical, identity);
  }

  /**
   * Starts recording the rows `set` from now on (forgetting any recorded before), so that a datapath holding this
   * table can apply just those rows instead of reloading it.
   */
  trackChanges(): void {
    this.changes = new Map();
  }

  /**
   * The rows set since `trackChanges` or the last `takeChanges`, one per prefix with its latest identity, in the
   * order they were first set; recording goes on. @returns [] when not tracking
   */
  takeChanges(): IpcacheEntry[] {
    if (!this.changes) return [];
    const out = [...this.changes].map(([prefix, identity]) => ({ prefix, identity }));
    this.changes.clear();
    return out;
  }

  /**
   * The identity of the longest prefix holding `ip`.
   * @returns undefined when no prefix holds it (the datapath then uses PALISADE_IDENTITY_WORLD) or the text is no address
   */
  lookup(ip: string): number | undefined {
    const value = parseIp(ip);
    if (value === null) return undefined;
    const width = value.family === 4 ? 32 : 128;
    const byBits = this.tables.get(value.family)!;
    for (let bits = width; bits >= 0; bits--) {
      const rows = byBits.get(bits);
      if (!rows) continue;
      const shift = BigInt(width - bits);
      const row = rows.get((value.value >> shift) << shift);
      if (row) return row.identity;
    }
    return undefined;
  }

  /** Every row, sorted by family, prefix length, address. */
  entries(): IpcacheEntry[] {
    const out: IpcacheEntry[] = [];
    for (const family of [4, 6] as const) {
      const byBits = this.tables.get(family)!;
      for (const bits of [...byBits.keys()].sort((a, b) => a - b)) {
        const rows = byBits.get(bits)!;
        for (const net of [...rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
          const row = rows.get(net)!;
          out.push({ prefix: row.prefix, identity: row.identity });
        }
      }
    }
    return out;
  }
}
