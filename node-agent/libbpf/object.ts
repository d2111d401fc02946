/**
 * A BPF object file: open, (optionally set pin paths), load into the kernel, find maps and programs, close.
 * A failed load becomes a VerifierError carrying libbpf's log (the verifier's own log included).
 */
import { existsSync } from 'node:fs';
import { checkPtr, errorFor } from './check.js';
import { Errno, LibbpfError, VerifierError } from './errors.js';
import { captureLog } from './log.js';
import { BpfMap } from './map.js';
import { loadNative, type Native, type NativePtr } from './native.js';
import { BpfProgram } from './program.js';

const PERCPU_MAP_TYPES = new Set([5, 6, 10]); // PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH

/** An opened (and, after `load`, loaded) BPF object. `close()` releases every map and program fd it holds. */
export class BpfObject {
  readonly path: string;
  private readonly native: Native;
  private handle: NativePtr | null;
  private loaded = false;
  private readonly maps = new Map<string, BpfMap>();
  private readonly programs = new Map<string, BpfProgram>();

  private constructor(native: Native, path: string, handle: NativePtr) {
    this.native = native;
    this.path = path;
    this.handle = handle;
  }

  /**
   * Open (parse) an object file; nothing enters the kernel yet.
   * @throws LibbpfError ENOENT when the file is missing, EINVAL/ENOEXEC-like errors when it is no BPF ELF;
   *         NotSupportedError when libbpf.so.1 is missing.
   */
  static open(path: string): BpfObject {
    const native = loadNative();
    if (!existsSync(path)) throw new LibbpfError('bpf_object__open_file', Errno.ENOENT, path);
    const { result } = captureLog(() => native.bpf_object__open_file(path, null));
    return new BpfObject(native, path, checkPtr(native, 'bpf_object__open_file', result, path));
  }

  private live(): NativePtr {
    if (this.handle === null) throw new LibbpfError('bpf_object', Errno.EBADF, `${this.path} is closed`);
    return this.handle;
  }

  /**
   * Ask libbpf to pin map `name` at `path` on load, reusing a compatible map already pinned there.
   * Call before `load`. @throws LibbpfError when the map does not exist.
   */
  setMapPinPath(name: string, path: string): void {
    const m = this.mapHandle(name);
    const rc = this.native.bpf_map__set_pin_path(m, path);
    if (rc < 0) throw errorFor('bpf_map__set_pin_path', -rc, path);
  }

  /**
   * Sets a map's capacity before `load()` (libbpf refuses it after).
   * @throws LibbpfError for an unknown map or when the object is already loaded.
   */
  setMapMaxEntries(name: string, maxEntries: number): void {
    const m = this.mapHandle(name);
    const rc = this.native.bpf_map__set_max_entries(m, maxEntries);
    if (rc < 0) throw errorFor('bpf_map__set_max_entries', -rc, name);
  }

  /**
   * Load every map and program into the kernel.
   * @returns the libbpf log of the load (INFO level).
   * @throws VerifierError when a program is refused (with the verifier log); LibbpfError EPERM without root/CAP_BPF,
   *         or with the bpffs message when a pin path cannot be used.
   */
  load(): string {
    const obj = this.live();
    const { result: rc, log } = captureLog(() => this.native.bpf_object__load(obj));
    if (rc < 0) {
      const errno = -rc;
      if (errno !== Errno.EPERM && /PROG LOAD LOG|program load failed|verifier/i.test(log)) {
        throw new VerifierError('bpf_object__load', errno, log);
      }
      const pinLine = /pinning map|pin_path|\/sys\/fs\/bpf\S*/.exec(log);
      throw errorFor('bpf_object__load', errno, pinLine ? (/\/sys\/fs\/bpf\S*/.exec(log)?.[0] ?? this.path) : this.path);
    }
    this.loaded = true;
    return log;
  }

  private mapHandle(name: string): NativePtr {
    const m = this.native.bpf_object__find_map_by_name(this.live(), name);
    if (m === null || m === undefined) throw new LibbpfError('bpf_object__find_map_by_name', Errno.ENOENT, `${this.path} has no map ${name}`);
    return m;
  }

  /** The loaded map `name`. @throws LibbpfError ENOENT when absent, EBADF before load or after close. */
  map(name: string): BpfMap {
    const cached = this.maps.get(name);
    if (cached) return cached;
    if (!this.loaded) throw new LibbpfError('bpf_map__fd', Errno.EBADF, `${this.path} is not loaded`);
    const handle = this.mapHandle(name);
    const perCpu = PERCPU_MAP_TYPES.has(this.native.bpf_map__type(handle)) ? this.native.libbpf_num_possible_cpus() : 0;
    const m = new BpfMap(this.native, handle, name, perCpu);
    this.maps.set(name, m);
    return m;
  }

  /** The loaded program `name`. @throws LibbpfError ENOENT when absent, EBADF before load or after close. */
  program(name: string): BpfProgram {
    const cached = this.programs.get(name);
    if (cached) return cached;
    if (!this.loaded) throw new LibbpfError('bpf_program__fd', Errno.EBADF, `${this.path} is not loaded`);
    const p = this.native.bpf_object__find_program_by_name(this.live(), name);
    if (p === null || p === undefined) throw new LibbpfError('bpf_object__find_program_by_name', Errno.ENOENT, `${this.path} has no program ${name}`);
    const prog = new BpfProgram(this.native, p, name);
    this.programs.set(name, prog);
    return prog;
  }

  /** Unpin map `name` from `path` (only that pin). @throws LibbpfError. */
  unpinMap(name: string, path: string): void {
    const rc = this.native.bpf_map__unpin(this.mapHandle(name), path);
    if (rc < 0 && rc !== -Errno.ENOENT) throw errorFor('bpf_map__unpin', -rc, path);
  }

  /** Close the object: every fd it holds is released (maps and programs vanish unless pinned or attached). Idempotent. */
  close(): void {
    if (this.handle === null) return;
    this.native.bpf_object__close(this.handle);
    this.handle = null;
    this.maps.clear();
    this.programs.clear();
  }
}
