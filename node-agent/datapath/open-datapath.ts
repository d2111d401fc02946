/**
 * The datapath manager: checks the object's BTF against abi.ts, loads the object with its maps pinned in bpffs, and
 * composes the concerns that work on the loaded maps and programs: generations (generations.ts), attachments
 * (attachments.ts), and verdict events and test runs (events.ts).
 */
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObject, type BpfMap, type BpfProgram, ensurePinDir, objectId, loadNative } from '../libbpf/index.js';
import { checkAbiLayouts } from './abi.js';
import { Attachments } from './attachments.js';
import { Btf } from './btf.js';
import { AbiMismatchError, DatapathError } from './errors.js';
import { EventStream } from './events.js';
import { Generations } from './generations.js';
import type { IpcacheEntry } from '../../pipeline/core/compile/entries.js';
import type {
  Classification,
  ControlState,
  CounterRow,
  AuditMode,
  Direction,
  EndpointEntry,
  Generation,
  GenerationTables,
  KernelIds,
  LoadedDatapath,
  MapPressure,
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

/** The maps a probe datapath may share with an enforcing one (the generation tables, never control or conntrack). */
export type ShareableMap = 'ipcache' | 'endpoints' | 'policy';

/**
 * Check the object's layouts and load it (see OpenDatapathOptions).
 * @returns the live datapath; `close()` it.
 * @throws AbiMismatchError when the object's BTF disagrees with abi.ts (nothing loaded); BadObjectError for a file
 *         that is no BPF object; BpffsMissingError; LibbpfError (EPERM without root/CAP_BPF); VerifierError;
 *         DatapathError `pins-missing` when a map to share is not pinned in `shareMaps.pinDir`.
 */
export function openDatapath(opts: OpenDatapathOptions): LoadedDatapath {
  const btf = new Btf(readFileSync(opts.objectPath), opts.objectPath);
  const mismatches = checkAbiLayouts(btf);
  if (mismatches.length > 0) throw new AbiMismatchError(opts.objectPath, mismatches);
  loadNative();
  const shared = new Set<string>(opts.shareMaps?.maps ?? []);
  for (const key of shared) {
    const path = join(opts.shareMaps!.pinDir, MAP_NAMES[key as ShareableMap]);
    if (!existsSync(path)) throw new DatapathError('pins-missing', `${path} is not pinned: nothing to share`);
  }
  const pinDirExisted = existsSync(opts.pinDir);
  ensurePinDir(opts.pinDir);
  const obj = BpfObject.open(opts.objectPath);
  const createdPins: { name: string; path: string }[] = [];
  try {
    const preexisting = new Set<string>();
    for (const [key, name] of Object.entries(MAP_NAMES)) {
      const path = shared.has(key) ? join(opts.shareMaps!.pinDir, name) : join(opts.pinDir, name);
      if (existsSync(path)) preexisting.add(name);
      obj.setMapPinPath(name, path);
    }
    if (opts.conntrackEntries !== undefined) obj.setMapMaxEntries(MAP_NAMES.conntrack, opts.conntrackEntries);
    obj.load();
    for (const [key, name] of Object.entries(MAP_NAMES)) {
      if (!preexisting.has(name) && !shared.has(key)) createdPins.push({ name, path: join(opts.pinDir, name) });
    }
    return new Datapath(obj, opts.pinDir, createdPins, !pinDirExisted);
  } catch (err) {
    for (const p of createdPins) obj.unpinMap(p.name, p.path);
    obj.close();
    if (!pinDirExisted) removeDirIfEmpty(opts.pinDir);
    throw err;
  }
}

function removeDirIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Someone else put something there meanwhile: leave it.
  }
}

class Datapath implements LoadedDatapath {
  private readonly maps: Record<keyof typeof MAP_NAMES, BpfMap>;
  private readonly from: BpfProgram;
  private readonly to: BpfProgram;
  private readonly generations: Generations;
  private readonly attachments: Attachments;
  private readonly events: EventStream;
  private closed = false;

  constructor(
    private readonly obj: BpfObject,
    private readonly pinDir: string,
    private readonly createdPins: { name: string; path: string }[],
    private readonly createdPinDir: boolean,
  ) {
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
    this.generations = new Generations(this.maps);
    this.attachments = new Attachments(this.from, this.to);
    this.events = new EventStream(this.maps.events, this.from, this.to);
  }

  /** The generations, after checking the handle is open. */
  private gens(): Generations {
    if (this.closed) throw new DatapathError('datapath-closed', 'the datapath handle is closed');
    return this.generations;
  }

  stageGeneration(gen: Generation, tables: GenerationTables): StageReport {
    return this.gens().stage(gen, tables);
  }

  clearGeneration(gen: Generation): number {
    return this.gens().clear(gen);
  }

  updateIpcache(gen: Generation, entries: readonly IpcacheEntry[]): { written: number; batched: boolean } {
    return this.gens().updateIpcache(gen, entries);
  }

  deleteIpcache(gen: Generation, prefixes: readonly string[]): number {
    return this.gens().deleteIpcache(gen, prefixes);
  }

  activeGeneration(): Generation {
    return this.gens().control().activeGen;
  }

  control(): ControlState {
    return this.gens().control();
  }

  switchTo(gen: Generation, serial?: bigint, audit?: AuditMode): void {
    this.gens().switchTo(gen, serial, audit);
  }

  setAudit(audit: AuditMode): void {
    this.gens().setAudit(audit);
  }

  setEventsEnabled(enabled: boolean): void {
    this.gens().setEventsEnabled(enabled);
  }

  setEndpoints(endpoints: readonly EndpointEntry[]): void {
    this.gens().setEndpoints(endpoints);
  }

  mapPressure(): MapPressure[] {
    return this.gens().mapPressure();
  }

  readCounters(): CounterRow[] {
    return this.gens().readCounters();
  }

  resetCounters(): void {
    this.gens().resetCounters();
  }

  resetConntrack(): void {
    this.gens().resetConntrack();
  }

  attach(ifname: string): number {
    this.gens();
    return this.attachments.attach(ifname);
  }

  detach(ifname: string): void {
    this.gens();
    this.attachments.detach(ifname);
  }

  attachedInterfaces(): string[] {
    return this.attachments.names();
  }

  testRun(direction: Direction, packet: Uint8Array, repeat = 1): TestRunResult {
    this.gens();
    return this.events.testRun(direction, packet, repeat);
  }

  classify(direction: Direction, packet: Uint8Array): Classification {
    if (this.gens().eventsOff()) {
      throw new DatapathError('events-off', 'classify needs verdict events: setEventsEnabled(true) first');
    }
    return this.events.classify(direction, packet);
  }

  onEvent(cb: (event: VerdictEvent) => void): () => void {
    this.gens();
    return this.events.onEvent(cb);
  }

  pollEvents(timeoutMs = 0): number {
    this.gens();
    return this.events.poll(timeoutMs);
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
    this.events.free();
    this.attachments.forget();
    this.obj.close(); // the kernel keeps the attached programs and the pinned maps
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const errors = this.attachments.detachAll();
    this.events.free();
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
