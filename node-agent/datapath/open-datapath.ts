/**
 * The datapath manager: checks the object's BTF against abi.ts, loads the object with its maps pinned in bpffs,
 * stages generations, switches between them with one control-map write, attaches to interfaces, runs packets
 * through BPF_PROG_TEST_RUN, and reads counters and verdict events.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfObject,
  type BpfMap,
  type BpfProgram,
  RingBuffer,
  UpdateFlags,
  ensurePinDir,
  ifIndex,
  objectId,
  loadNative,
  tcAttach,
  tcDetach,
  tcHookCreate,
  tcHookDestroy,
  type TcFilter,
} from '../libbpf/index.js';
import {
  ABI,
  checkAbiLayouts,
  decodeControl,
  decodeCounter,
  decodeVerdictEvent,
  encodeControl,
  encodeEndpoint,
  encodeIpcacheEntry,
  encodePolicyEntry,
  ipcacheKeyGen,
  policyKeyGen,
} from './abi.js';
import { Btf } from './btf.js';
import { AbiMismatchError, DatapathError } from './errors.js';
import type { IpcacheEntry } from '../../pipeline/core/compile/entries.js';
import type {
  Classification,
  ControlState,
  CounterRow,
  Direction,
  EndpointEntry,
  Generation,
  GenerationTables,
  KernelIds,
  LoadedDatapath,
  OpenDatapathOptions,
  StageReport,
  TestRunResult,
  VerdictEvent,
} from './types.js';

/** Kernel map names in the object (also the pin file names). */
export const MAP_NAMES = {
  control: 'pal_control',
  ipcache: 'pal_ipcache',
  endpoints: 'pal_endpoints',
  policy: 'pal_policy',
  conntrack: 'pal_conntrack',
  counters: 'pal_counters',
  events: 'pal_events',
} as const;

/** Program names in the object. */
export const PROGRAM_NAMES = { fromEndpoint: 'palisade_from_endpoint', toEndpoint: 'palisade_to_endpoint' } as const;

interface Attachment {
  readonly ifindex: number;
  readonly createdHook: boolean;
  readonly filters: TcFilter[];
}

/**
 * Check the object's layouts and load it (see OpenDatapathOptions).
 * @returns the live datapath; `close()` it.
 * @throws AbiMismatchError when the object's BTF disagrees with abi.ts (nothing loaded); BadObjectError for a file
 *         that is no BPF object; BpffsMissingError; LibbpfError (EPERM without root/CAP_BPF); VerifierError.
 */
export function openDatapath(opts: OpenDatapathOptions): LoadedDatapath {
  const btf = new Btf(readFileSync(opts.objectPath), opts.objectPath);
  const mismatches = checkAbiLayouts(btf);
  if (mismatches.length > 0) throw new AbiMismatchError(opts.objectPath, mismatches);
  loadNative();
  const pinDirExisted = existsSync(opts.pinDir);
  ensurePinDir(opts.pinDir);
  const obj = BpfObject.open(opts.objectPath);
  const createdPins: { name: string; path: string }[] = [];
  try {
    const preexisting = new Set<string>();
    for (const name of Object.values(MAP_NAMES)) {
      const path = join(opts.pinDir, name);
      if (existsSync(path)) preexisting.add(name);
      obj.setMapPinPath(name, path);
    }
    obj.load();
    for (const name of Object.values(MAP_NAMES)) {
      if (!preexisting.has(name)) createdPins.push({ name, path: join(opts.pinDir, name) });
    }
    return new Datapath(obj, opts.pinDir, createdPins, !pinDirExisted);
  } catch (err) {
    for (const p of createdPins) obj.unpinMap(p.name, p.path);
    obj.close();
    if (!pinDirExisted) removeDirIfEmpty(opts.pinDir);
    throw err;
  }
}

function checkGeneration(gen: Generation): Generation {
  if (gen !== 0 && gen !== 1) throw new DatapathError('bad-generation', `generation ${String(gen)} is not 0 or 1`);
  return gen;
}

function removeDirIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Someone else put something there meanwhile: leave it.
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(parts.length * size);
  parts.forEach((p, i) => out.set(p, i * size));
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

class Datapath implements LoadedDatapath {
  private readonly obj: BpfObject;
  private readonly pinDir: string;
  private readonly createdPins: { name: string; path: string }[];
  private readonly createdPinDir: boolean;
  private readonly maps: Record<keyof typeof MAP_NAMES, BpfMap>;
  private readonly from: BpfProgram;
  private readonly to: BpfProgram;
  private readonly attachments = new Map<string, Attachment>();
  private readonly listeners = new Set<(e: VerdictEvent) => void>();
  private ring: RingBuffer | undefined;
  private lastEvents: VerdictEvent[] = [];
  private collecting = false;
  private closed = false;

  constructor(obj: BpfObject, pinDir: string, createdPins: { name: string; path: string }[], createdPinDir: boolean) {
    this.obj = obj;
    this.pinDir = pinDir;
    this.createdPins = createdPins;
    this.createdPinDir = createdPinDir;
    this.maps = {
      control: obj.map(MAP_NAMES.control),
      ipcache: obj.map(MAP_NAMES.ipcache),
      endpoints: obj.map(MAP_NAMES.endpoints),
      policy: obj.map(MAP_NAMES.policy),
      conntrack: obj.map(MAP_NAMES.conntrack),
      counters: obj.map(MAP_NAMES.counters),
      events: obj.map(MAP_NAMES.events),
    };
    this.from = obj.program(PROGRAM_NAMES.fromEndpoint);
    this.to = obj.program(PROGRAM_NAMES.toEndpoint);
  }

  private live(): void {
    if (this.closed) throw new DatapathError('closed', 'the datapath handle is closed');
  }

  private readControl(): { activeGen: Generation; flags: number; serial: bigint } {
    const raw = this.maps.control.lookup(new Uint8Array(4));
    return raw ? decodeControl(raw) : { activeGen: 0, flags: 0, serial: 0n };
  }

  private writeControl(c: { activeGen: Generation; flags: number; serial: bigint }): void {
    this.maps.control.update(new Uint8Array(4), encodeControl(c));
  }

  stageGeneration(gen: Generation, tables: GenerationTables): StageReport {
    this.live();
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
      ipcacheBatched = this.writeAll(this.maps.ipcache, ipc);
      policyBatched = this.writeAll(this.maps.policy, pol);
    } catch (err) {
      // Never leave a half-written generation that a later switch could activate: empty it again.
      try {
        this.maps.ipcache.deleteKeys(this.maps.ipcache.allKeys().filter((k) => ipcacheKeyGen(k) === gen));
        this.maps.policy.deleteKeys(this.maps.policy.allKeys().filter((k) => policyKeyGen(k) === gen));
      } catch {
        // The write error below is the one to report.
      }
      throw err;
    }
    const t2 = performance.now();
    return {
      gen,
      cleared,
      ipcacheEntries: ipc.length,
      policyEntries: pol.length,
      ipcacheBatched,
      policyBatched,
      clearMs: t1 - t0,
      writeMs: t2 - t1,
    };
  }

  updateIpcache(gen: Generation, entries: readonly IpcacheEntry[]): { written: number; batched: boolean } {
    this.live();
    checkGeneration(gen);
    const rows = entries.map((e) => encodeIpcacheEntry(gen, e));
    const distinct = new Set(rows.map((r) => hex(r.key)));
    if (distinct.size !== rows.length) throw new DatapathError('bad-entry', 'an ipcache prefix is listed twice in one update');
    return { written: rows.length, batched: this.writeAll(this.maps.ipcache, rows) };
  }

  deleteIpcache(gen: Generation, prefixes: readonly string[]): number {
    this.live();
    checkGeneration(gen);
    const keys = prefixes.map((prefix) => encodeIpcacheEntry(gen, { prefix, identity: 0 }).key);
    return this.maps.ipcache.deletePresent(keys);
  }

  /** Write rows with one batch call when the map type supports it, else one update per row. @returns batched? */
  private writeAll(map: BpfMap, rows: readonly { key: Uint8Array; value: Uint8Array }[]): boolean {
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

  activeGeneration(): Generation {
    this.live();
    return this.readControl().activeGen;
  }

  control(): ControlState {
    this.live();
    const c = this.readControl();
    return { activeGen: c.activeGen, serial: c.serial, eventsOff: (c.flags & ABI.PALISADE_CONTROL_EVENTS_OFF) !== 0 };
  }

  switchTo(gen: Generation, serial?: bigint): void {
    this.live();
    checkGeneration(gen);
    const c = this.readControl();
    this.writeControl({ activeGen: gen, flags: c.flags, serial: serial ?? c.serial });
  }

  setEventsEnabled(enabled: boolean): void {
    this.live();
    const c = this.readControl();
    const flags = enabled ? c.flags & ~ABI.PALISADE_CONTROL_EVENTS_OFF : c.flags | ABI.PALISADE_CONTROL_EVENTS_OFF;
    this.writeControl({ ...c, flags });
  }

  setEndpoints(endpoints: readonly EndpointEntry[]): void {
    this.live();
    const rows = endpoints.map((e) => encodeEndpoint(e.address, e.endpointId, e.ifindex ?? 0));
    const wanted = new Set(rows.map((r) => hex(r.key)));
    if (wanted.size !== rows.length) throw new DatapathError('bad-entry', 'an endpoint address is listed twice');
    this.maps.endpoints.deleteKeys(this.maps.endpoints.allKeys().filter((k) => !wanted.has(hex(k))));
    for (const r of rows) this.maps.endpoints.update(r.key, r.value);
  }

  attach(ifname: string): void {
    this.live();
    const ifindex = ifIndex(ifname);
    const createdHook = tcHookCreate(ifindex);
    const att: Attachment = { ifindex, createdHook, filters: [] };
    this.attachments.set(ifname, att);
    att.filters.push(tcAttach(ifindex, 'ingress', this.from.fd));
    att.filters.push(tcAttach(ifindex, 'egress', this.to.fd));
  }

  detach(ifname: string): void {
    this.live();
    this.detachOne(ifname);
  }

  private detachOne(ifname: string): void {
    const att = this.attachments.get(ifname);
    if (!att) return;
    for (const f of att.filters) tcDetach(f);
    if (att.createdHook) tcHookDestroy(att.ifindex);
    this.attachments.delete(ifname);
  }

  testRun(direction: Direction, packet: Uint8Array, repeat = 1): TestRunResult {
    this.live();
    const prog = direction === 'egress' ? this.from : this.to;
    return prog.testRun(packet, repeat);
  }

  private ensureRing(): RingBuffer {
    if (!this.ring) {
      this.ring = new RingBuffer(this.maps.events.fd, (data) => {
        const e = decodeVerdictEvent(data);
        if (this.collecting) this.lastEvents.push(e);
        for (const l of this.listeners) l(e);
      });
    }
    return this.ring;
  }

  classify(direction: Direction, packet: Uint8Array): Classification {
    this.live();
    if (this.readControl().flags & ABI.PALISADE_CONTROL_EVENTS_OFF) {
      throw new DatapathError('events-off', 'classify needs verdict events: setEventsEnabled(true) first');
    }
    const ring = this.ensureRing();
    ring.consume(); // deliver whatever was pending, so the event below is this packet's
    this.lastEvents = [];
    this.collecting = true;
    let r: TestRunResult;
    try {
      r = this.testRun(direction, packet, 1);
      ring.consume();
    } finally {
      this.collecting = false;
    }
    const event = this.lastEvents[this.lastEvents.length - 1];
    this.lastEvents = [];
    return { retval: r.retval, durationNs: r.durationNs, event };
  }

  readCounters(): CounterRow[] {
    this.live();
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

  resetCounters(): void {
    this.live();
    this.maps.counters.clear();
  }

  resetConntrack(): void {
    this.live();
    this.maps.conntrack.clear();
  }

  onEvent(cb: (event: VerdictEvent) => void): () => void {
    this.live();
    const ring = this.ensureRing();
    this.listeners.add(cb);
    ring.watch((err) => {
      // A listener threw: surface it on the next pollEvents rather than crashing the event loop.
      this.pendingError = err;
    });
    return () => {
      this.listeners.delete(cb);
      if (this.listeners.size === 0) ring.unwatch();
    };
  }

  private pendingError: unknown;

  pollEvents(timeoutMs = 0): number {
    this.live();
    if (this.pendingError !== undefined) {
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
    const ring = this.ensureRing();
    return timeoutMs > 0 ? ring.poll(timeoutMs) : ring.consume();
  }

  kernelIds(): KernelIds {
    const native = loadNative();
    return {
      programs: [this.from.id(), this.to.id()],
      maps: Object.values(this.maps).map((m) => objectId(native, m.fd, 'map')),
    };
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring?.free();
    this.ring = undefined;
    this.listeners.clear();
    this.attachments.clear();
    this.obj.close(); // the kernel keeps the attached programs and the pinned maps
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const ifname of [...this.attachments.keys()]) {
      try {
        this.detachOne(ifname);
      } catch (err) {
        errors.push(err);
      }
    }
    this.ring?.free();
    this.ring = undefined;
    this.listeners.clear();
    for (const p of this.createdPins) {
      try {
        this.obj.unpinMap(p.name, p.path);
      } catch (err) {
        errors.push(err);
      }
    }
    this.obj.close();
    if (this.createdPinDir) removeDirIfEmpty(this.pinDir);
    if (errors.length > 0) throw errors[0];
  }
}
