/**
 * The generation half of the datapath: the control map (active generation, flags, serial), staging a complete
 * generation into the ipcache and policy maps beside the active one, single ipcache rows in place, the local endpoint
 * map, and the counters and conntrack the generations are judged into.
 */
import { type BpfMap, UpdateFlags } from '../libbpf/index.js';
import {
  ABI,
  decodeControl,
  decodeCounter,
  encodeControl,
  encodeEndpoint,
  encodeIpcacheEntry,
  encodePolicyEntry,
  ipcacheKeyGen,
  policyKeyGen,
} from './abi.js';
import { DatapathError } from './errors.js';
import type { IpcacheEntry } from '../../pipeline/core/compile/entries.js';
import type { AuditMode, ControlState, CounterRow, Direction, EndpointEntry, Generation, GenerationTables, MapPressure, StageReport } from './types.js';

/** The maps a generation lives in. */
export interface GenerationMaps {
  readonly control: BpfMap;
  readonly ipcache: BpfMap;
  readonly endpoints: BpfMap;
  readonly policy: BpfMap;
  readonly conntrack: BpfMap;
  readonly counters: BpfMap;
}

interface RawControl {
  activeGen: Generation;
  flags: number;
  serial: bigint;
}

/** @throws DatapathError `bad-generation` unless `gen` is 0 or 1. */
export function checkGeneration(gen: Generation): Generation {
  if (gen !== 0 && gen !== 1) throw new DatapathError('bad-generation', `generation ${String(gen)} is not 0 or 1`);
  return gen;
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(parts.length * size);
  parts.forEach((p, i) => out.set(p, i * size));
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Reads and writes generations in a set of (pinned) maps. Methods throw LibbpfError on a kernel failure. */
export class Generations {
  constructor(private readonly maps: GenerationMaps) {}

  private readControl(): RawControl {
    const raw = this.maps.control.lookup(new Uint8Array(4));
    return raw ? decodeControl(raw) : { activeGen: 0, flags: 0, serial: 0n };
  }

  private writeControl(c: RawControl): void {
    this.maps.control.update(new Uint8Array(4), encodeControl(c));
  }

  /** See LoadedDatapath.stageGeneration. */
  stage(gen: Generation, tables: GenerationTables): StageReport {
    checkGeneration(gen);
    if (gen === this.readControl().activeGen) {
      throw new DatapathError('stage-active', `generation ${gen} is active: stage generation ${1 - gen} and switch to it`);
    }
    // Encode everything first: a bad entry leaves the maps untouched.
    const ipc = tables.ipcache.map((e) => encodeIpcacheEntry(gen, e));
    const pol = tables.policy.map((e) => encodePolicyEntry(gen, e));
    const dupes = (rows: { key: Uint8Array }[], what: string) => {
      const seen = new Set<string>();
      for (const r of rows) {
        const k = hex(r.key);
        if (seen.has(k)) throw new DatapathError('bad-entry', `duplicate ${what} key ${k} (the compiler must merge entries)`);
        seen.add(k);
      }
    };
    dupes(ipc, 'ipcache');
    dupes(pol, 'policy');

    const t0 = performance.now();
    const ipcKeys = this.maps.ipcache.allKeys();
    const polKeys = this.maps.policy.allKeys();
    const ipcOther = ipcKeys.filter((k) => ipcacheKeyGen(k) !== gen).length;
    const polOther = polKeys.filter((k) => policyKeyGen(k) !== gen).length;
    if (ipcOther + ipc.length > this.maps.ipcache.maxEntries) {
      throw new DatapathError('map-full', `ipcache: ${ipc.length} entries do not fit beside the active generation's ${ipcOther} (max ${this.maps.ipcache.maxEntries})`);
    }
    if (polOther + pol.length > this.maps.policy.maxEntries) {
      throw new DatapathError('map-full', `policy: ${pol.length} entries do not fit beside the active generation's ${polOther} (max ${this.maps.policy.maxEntries})`);
    }
    const cleared =
      this.maps.ipcache.deleteKeys(ipcKeys.filter((k) => ipcacheKeyGen(k) === gen)) +
      this.maps.policy.deleteKeys(polKeys.filter((k) => policyKeyGen(k) === gen));
    const t1 = performance.now();
    let ipcacheBatched: boolean;
    let policyBatched: boolean;
    try {
      ipcacheBatched = writeAll(this.maps.ipcache, ipc);
      policyBatched = writeAll(this.maps.policy, pol);
    } catch (err) {
      // Never leave a half-written generation that a later switch could activate: empty it again.
      try {
        this.clear(gen);
      } catch {
        // The write error below is the one to report.
      }
      throw err;
    }
    const t2 = performance.now();
    return { gen, cleared, ipcacheEntries: ipc.length, policyEntries: pol.length, ipcacheBatched, policyBatched, clearMs: t1 - t0, writeMs: t2 - t1 };
  }

  /** See LoadedDatapath.clearGeneration. */
  clear(gen: Generation): number {
    checkGeneration(gen);
    return (
      this.maps.ipcache.deleteKeys(this.maps.ipcache.allKeys().filter((k) => ipcacheKeyGen(k) === gen)) +
      this.maps.policy.deleteKeys(this.maps.policy.allKeys().filter((k) => policyKeyGen(k) === gen))
    );
  }

  /** See LoadedDatapath.updateIpcache. */
  updateIpcache(gen: Generation, entries: readonly IpcacheEntry[]): { written: number; batched: boolean } {
    checkGeneration(gen);
    const rows = entries.map((e) => encodeIpcacheEntry(gen, e));
    const distinct = new Set(rows.map((r) => hex(r.key)));
    if (distinct.size !== rows.length) throw new DatapathError('bad-entry', 'an ipcache prefix is listed twice in one update');
    return { written: rows.length, batched: writeAll(this.maps.ipcache, rows) };
  }

  /** See LoadedDatapath.deleteIpcache. */
  deleteIpcache(gen: Generation, prefixes: readonly string[]): number {
    checkGeneration(gen);
    const keys = prefixes.map((prefix) => encodeIpcacheEntry(gen, { prefix, identity: 0 }).key);
    return this.maps.ipcache.deletePresent(keys);
  }

  /** The control map's content. */
  control(): ControlState {
    const c = this.readControl();
    return { activeGen: c.activeGen, serial: c.serial, eventsOff: (c.flags & ABI.PALISADE_CONTROL_EVENTS_OFF) !== 0, audit: auditModeOf(c.flags) };
  }

  /** True when ring-buffer events are suppressed. */
  eventsOff(): boolean {
    return (this.readControl().flags & ABI.PALISADE_CONTROL_EVENTS_OFF) !== 0;
  }

  /** One write of the control map (gen, serial and audit mode together). */
  switchTo(gen: Generation, serial?: bigint, audit?: AuditMode): void {
    checkGeneration(gen);
    const c = this.readControl();
    const flags = audit === undefined ? c.flags : withAuditMode(c.flags, audit);
    this.writeControl({ activeGen: gen, flags, serial: serial ?? c.serial });
  }

  /** Sets the audit mode of the active generation, keeping gen, serial and the events flag. */
  setAudit(audit: AuditMode): void {
    const c = this.readControl();
    this.writeControl({ ...c, flags: withAuditMode(c.flags, audit) });
  }

  /** Sets or clears PALISADE_CONTROL_EVENTS_OFF, keeping gen and serial. */
  setEventsEnabled(enabled: boolean): void {
    const c = this.readControl();
    const flags = enabled ? c.flags & ~ABI.PALISADE_CONTROL_EVENTS_OFF : c.flags | ABI.PALISADE_CONTROL_EVENTS_OFF;
    this.writeControl({ ...c, flags });
  }

  /** See LoadedDatapath.setEndpoints. */
  setEndpoints(endpoints: readonly EndpointEntry[]): void {
    const rows = endpoints.map((e) => encodeEndpoint(e.address, e.endpointId, e.ifindex ?? 0, e.audit ?? false));
    const wanted = new Set(rows.map((r) => hex(r.key)));
    if (wanted.size !== rows.length) throw new DatapathError('bad-entry', 'an endpoint address is listed twice');
    this.maps.endpoints.deleteKeys(this.maps.endpoints.allKeys().filter((k) => !wanted.has(hex(k))));
    for (const r of rows) this.maps.endpoints.update(r.key, r.value);
  }

  /** See LoadedDatapath.mapPressure. */
  mapPressure(): MapPressure[] {
    const row = (name: string, map: BpfMap): MapPressure => ({ map: name, entries: map.allKeys().length, max: map.maxEntries });
    return [row('ipcache', this.maps.ipcache), row('policy', this.maps.policy), row('endpoints', this.maps.endpoints)];
  }

  /** All counter rows, summed over CPUs, sorted by endpoint, direction, gen, verdict. */
  readCounters(): CounterRow[] {
    const m = this.maps.counters;
    const batch = m.lookupBatch();
    const rows: CounterRow[] = [];
    if (batch) {
      batch.keys.forEach((k, i) => rows.push(decodeCounter(k, batch.values[i] as Uint8Array)));
    } else {
      for (const k of m.keys()) {
        const v = m.lookup(k);
        if (v) rows.push(decodeCounter(k, v));
      }
    }
    const dir = (d: Direction) => (d === 'ingress' ? 0 : 1);
    return rows.sort((a, b) => a.endpointId - b.endpointId || dir(a.direction) - dir(b.direction) || a.gen - b.gen || a.verdict.localeCompare(b.verdict));
  }

  /** Removes every counter row. */
  resetCounters(): void {
    this.maps.counters.clear();
  }

  /** Removes every conntrack entry. */
  resetConntrack(): void {
    this.maps.conntrack.clear();
  }
}

const AUDIT_BITS = ABI.PALISADE_CONTROL_AUDIT | ABI.PALISADE_CONTROL_AUDIT_FLAGGED;

/** The audit mode the control flags say (AUDIT wins over AUDIT_FLAGGED, as in the datapath). */
function auditModeOf(flags: number): AuditMode {
  if ((flags & ABI.PALISADE_CONTROL_AUDIT) !== 0) return 'all';
  return (flags & ABI.PALISADE_CONTROL_AUDIT_FLAGGED) !== 0 ? 'flagged' : 'off';
}

/** `flags` with its audit bits set for `audit`. */
function withAuditMode(flags: number, audit: AuditMode): number {
  const bit = audit === 'all' ? ABI.PALISADE_CONTROL_AUDIT : audit === 'flagged' ? ABI.PALISADE_CONTROL_AUDIT_FLAGGED : 0;
  return (flags & ~AUDIT_BITS) | bit;
}

/** Write rows with one batch call when the map type supports it, else one update per row. @returns batched? */
function writeAll(map: BpfMap, rows: readonly { key: Uint8Array; value: Uint8Array }[]): boolean {
  if (rows.length === 0) return false;
  const first = rows[0] as { key: Uint8Array; value: Uint8Array };
  // Probe with one element: LPM tries have no batch operations on kernels up to at least 6.x.
  if (map.updateBatch(first.key, first.value, 1)) {
    const rest = rows.slice(1);
    if (rest.length > 0) {
      map.updateBatch(concat(rest.map((r) => r.key), map.keySize), concat(rest.map((r) => r.value), map.valueSize), rest.length);
    }
    return true;
  }
  for (const r of rows) map.update(r.key, r.value, UpdateFlags.ANY);
  return false;
}
