/**
 * The raw koffi declarations of the libbpf 1.1 (and libc) functions Palisade uses. Loaded once, on first use, so that
 * importing this module on a machine without libbpf costs nothing; `loadNative()` throws a NotSupportedError there.
 * Opaque libbpf handles (bpf_object, bpf_map, bpf_program, ring_buffer) are koffi external pointers (`unknown`).
 */
import koffi from 'koffi';
import { NotSupportedError } from '../../pipeline/core/errors.js';

/** An opaque native pointer returned by libbpf (never null once checked). */
export type NativePtr = unknown;

/** `struct bpf_test_run_opts` of libbpf 1.1 (bpf.h); `sz` must be set. */
export interface TestRunOptsStruct {
  sz: number;
  data_in: Uint8Array | null;
  data_out: Uint8Array | null;
  data_size_in: number;
  data_size_out: number;
  ctx_in: Uint8Array | null;
  ctx_out: Uint8Array | null;
  ctx_size_in: number;
  ctx_size_out: number;
  retval: number;
  repeat: number;
  duration: number;
  flags: number;
  cpu: number;
  batch_size: number;
}

/** `struct bpf_tc_hook` (libbpf.h). attach_point: BPF_TC_INGRESS = 1, BPF_TC_EGRESS = 2. */
export interface TcHookStruct {
  sz: number;
  ifindex: number;
  attach_point: number;
  parent: number;
}

/** `struct bpf_tc_opts` (libbpf.h). */
export interface TcOptsStruct {
  sz: number;
  prog_fd: number;
  flags: number;
  prog_id: number;
  handle: number;
  priority: number;
}

/** `struct bpf_map_batch_opts` (bpf.h). */
export interface BatchOptsStruct {
  sz: number;
  elem_flags: bigint | number;
  flags: bigint | number;
}

/** The functions, typed for TypeScript. Integer returns follow libbpf 1.x: negative errno on failure. */
export interface Native {
  bpf_object__open_file(path: string, opts: null): NativePtr | null;
  bpf_object__load(obj: NativePtr): number;
  bpf_object__close(obj: NativePtr): void;
  bpf_object__find_map_by_name(obj: NativePtr, name: string): NativePtr | null;
  bpf_object__find_program_by_name(obj: NativePtr, name: string): NativePtr | null;
  bpf_map__fd(map: NativePtr): number;
  bpf_map__set_pin_path(map: NativePtr, path: string | null): number;
  bpf_map__set_max_entries(map: NativePtr, maxEntries: number): number;
  bpf_map__is_pinned(map: NativePtr): boolean;
  bpf_map__unpin(map: NativePtr, path: string | null): number;
  bpf_map__key_size(map: NativePtr): number;
  bpf_map__value_size(map: NativePtr): number;
  bpf_map__max_entries(map: NativePtr): number;
  bpf_map__type(map: NativePtr): number;
  bpf_program__fd(prog: NativePtr): number;
  bpf_map_update_elem(fd: number, key: Uint8Array, value: Uint8Array, flags: bigint | number): number;
  bpf_map_lookup_elem(fd: number, key: Uint8Array, value: Uint8Array): number;
  bpf_map_delete_elem(fd: number, key: Uint8Array): number;
  bpf_map_get_next_key(fd: number, key: Uint8Array | null, next: Uint8Array): number;
  bpf_map_update_batch(fd: number, keys: Uint8Array, values: Uint8Array, count: Uint32Array, opts: BatchOptsStruct): number;
  bpf_map_lookup_batch(
    fd: number,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: Uint32Array,
    opts: BatchOptsStruct,
  ): number;
  bpf_map_delete_batch(fd: number, keys: Uint8Array, count: Uint32Array, opts: BatchOptsStruct): number;
  bpf_prog_test_run_opts(fd: number, opts: TestRunOptsStruct): number;
  bpf_tc_hook_create(hook: TcHookStruct): number;
  bpf_tc_hook_destroy(hook: TcHookStruct): number;
  bpf_tc_attach(hook: TcHookStruct, opts: TcOptsStruct): number;
  bpf_tc_detach(hook: TcHookStruct, opts: TcOptsStruct): number;
  bpf_tc_query(hook: TcHookStruct, opts: TcOptsStruct): number;
  bpf_obj_pin(fd: number, path: string): number;
  bpf_obj_get(path: string): number;
  bpf_obj_get_info_by_fd(fd: number, info: Uint8Array, len: Uint32Array): number;
  ring_buffer__new(mapFd: number, cb: unknown, ctx: null, opts: null): NativePtr | null;
  ring_buffer__poll(rb: NativePtr, timeoutMs: number): number;
  ring_buffer__consume(rb: NativePtr): number;
  ring_buffer__epoll_fd(rb: NativePtr): number;
  ring_buffer__free(rb: NativePtr): void;
  libbpf_set_print(fn: unknown): unknown;
  libbpf_get_error(ptr: NativePtr): number;
  libbpf_num_possible_cpus(): number;
  /** libc */
  if_nametoindex(name: string): number;
  close(fd: number): number;
  vsnprintf(buf: Uint8Array, size: number, fmt: string, ap: unknown): number;
  /** koffi's errno after the last call (libbpf sets it too). */
  errno(): number;
  /** Callback prototypes, for koffi.register. */
  readonly printFnType: unknown;
  readonly sampleFnType: unknown;
  /** sizeof of the declared structs, for their `sz` fields. */
  readonly sizes: { readonly testRunOpts: number; readonly tcHook: number; readonly tcOpts: number; readonly batchOpts: number };
}

let cached: Native | undefined;

/**
 * Load libbpf.so.1 and libc and declare the functions.
 * @throws NotSupportedError `libbpf` when libbpf.so.1 cannot be loaded (install libbpf1).
 */
export function loadNative(): Native {
  if (cached) return cached;
  let lib: ReturnType<typeof koffi.load>;
  let libc: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libbpf.so.1');
    libc = koffi.load('libc.so.6');
  } catch (err) {
    throw new NotSupportedError('libbpf', 'cannot load libbpf.so.1 (install the libbpf1 package)', { cause: err });
  }
  koffi.struct('bpf_test_run_opts', {
    sz: 'size_t',
    data_in: 'void *',
    data_out: 'void *',
    data_size_in: 'uint32_t',
    data_size_out: 'uint32_t',
    ctx_in: 'void *',
    ctx_out: 'void *',
    ctx_size_in: 'uint32_t',
    ctx_size_out: 'uint32_t',
    retval: 'uint32_t',
    repeat: 'int',
    duration: 'uint32_t',
    flags: 'uint32_t',
    cpu: 'uint32_t',
    batch_size: 'uint32_t',
  });
  koffi.struct('bpf_tc_hook', { sz: 'size_t', ifindex: 'int', attach_point: 'int', parent: 'uint32_t' });
  koffi.struct('bpf_tc_opts', {
    sz: 'size_t',
    prog_fd: 'int',
    flags: 'uint32_t',
    prog_id: 'uint32_t',
    handle: 'uint32_t',
    priority: 'uint32_t',
  });
  koffi.struct('bpf_map_batch_opts', { sz: 'size_t', elem_flags: 'uint64_t', flags: 'uint64_t' });
  const printFnType = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *ap)');
  const sampleFnType = koffi.proto('int ring_buffer_sample_fn(void *ctx, void *data, size_t size)');

  const f = (decl: string): ((...args: never[]) => unknown) => lib.func(decl) as (...args: never[]) => unknown;
  const native = {
    bpf_object__open_file: f('void *bpf_object__open_file(const char *path, const void *opts)'),
    bpf_object__load: f('int bpf_object__load(void *obj)'),
    bpf_object__close: f('void bpf_object__close(void *obj)'),
    bpf_object__find_map_by_name: f('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    bpf_object__find_program_by_name: f('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
    bpf_map__fd: f('int bpf_map__fd(void *map)'),
    bpf_map__set_pin_path: f('int bpf_map__set_pin_path(void *map, const char *path)'),
    bpf_map__set_max_entries: f('int bpf_map__set_max_entries(void *map, uint32_t max_entries)'),
    bpf_map__is_pinned: f('bool bpf_map__is_pinned(void *map)'),
    bpf_map__unpin: f('int bpf_map__unpin(void *map, const char *path)'),
    bpf_map__key_size: f('uint32_t bpf_map__key_size(void *map)'),
    bpf_map__value_size: f('uint32_t bpf_map__value_size(void *map)'),
    bpf_map__max_entries: f('uint32_t bpf_map__max_entries(void *map)'),
    bpf_map__type: f('int bpf_map__type(void *map)'),
    bpf_program__fd: f('int bpf_program__fd(void *prog)'),
    bpf_map_update_elem: f('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    bpf_map_lookup_elem: f('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    bpf_map_delete_elem: f('int bpf_map_delete_elem(int fd, const void *key)'),
    bpf_map_get_next_key: f('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    bpf_map_update_batch: f(
      'int bpf_map_update_batch(int fd, const void *keys, const void *values, void *count, const bpf_map_batch_opts *opts)',
    ),
    bpf_map_lookup_batch: f(
      'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, const bpf_map_batch_opts *opts)',
    ),
    bpf_map_delete_batch: f('int bpf_map_delete_batch(int fd, const void *keys, void *count, const bpf_map_batch_opts *opts)'),
    bpf_prog_test_run_opts: f('int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpf_test_run_opts *opts)'),
    bpf_tc_hook_create: f('int bpf_tc_hook_create(bpf_tc_hook *hook)'),
    bpf_tc_hook_destroy: f('int bpf_tc_hook_destroy(bpf_tc_hook *hook)'),
    bpf_tc_attach: f('int bpf_tc_attach(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
    bpf_tc_detach: f('int bpf_tc_detach(const bpf_tc_hook *hook, const bpf_tc_opts *opts)'),
    bpf_tc_query: f('int bpf_tc_query(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
    bpf_obj_pin: f('int bpf_obj_pin(int fd, const char *path)'),
    bpf_obj_get: f('int bpf_obj_get(const char *path)'),
    bpf_obj_get_info_by_fd: f('int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)'),
    ring_buffer__new: f('void *ring_buffer__new(int map_fd, ring_buffer_sample_fn *cb, void *ctx, const void *opts)'),
    ring_buffer__poll: f('int ring_buffer__poll(void *rb, int timeout_ms)'),
    ring_buffer__consume: f('int ring_buffer__consume(void *rb)'),
    ring_buffer__epoll_fd: f('int ring_buffer__epoll_fd(void *rb)'),
    ring_buffer__free: f('void ring_buffer__free(void *rb)'),
    libbpf_set_print: f('void *libbpf_set_print(libbpf_print_fn *fn)'),
    libbpf_get_error: f('long libbpf_get_error(const void *ptr)'),
    libbpf_num_possible_cpus: f('int libbpf_num_possible_cpus(void)'),
    if_nametoindex: libc.func('unsigned int if_nametoindex(const char *name)') as (...args: never[]) => unknown,
    close: libc.func('int close(int fd)') as (...args: never[]) => unknown,
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *ap)') as (
      ...args: never[]
    ) => unknown,
    errno: () => koffi.errno(),
    printFnType: koffi.pointer(printFnType),
    sampleFnType: koffi.pointer(sampleFnType),
    sizes: {
      testRunOpts: koffi.sizeof('bpf_test_run_opts'),
      tcHook: koffi.sizeof('bpf_tc_hook'),
      tcOpts: koffi.sizeof('bpf_tc_opts'),
      batchOpts: koffi.sizeof('bpf_map_batch_opts'),
    },
  };
  cached = native as unknown as Native;
  return cached;
}

/** Register a JS function as a long-lived native callback of `type`; `unregisterCallback` frees the slot. */
export function registerCallback(fn: (...args: never[]) => unknown, type: unknown): unknown {
  return koffi.register(fn, type as never);
}

/** Free a callback slot from `registerCallback`. */
export function unregisterCallback(handle: unknown): void {
  koffi.unregister(handle as bigint);
}

/** Copy `len` bytes at native pointer `ptr` into a fresh Uint8Array. */
export function copyFromNative(ptr: unknown, len: number): Uint8Array {
  return new Uint8Array(koffi.view(ptr, len).slice(0));
}

/** Watch `fd` for readability on the Node event loop (no thread blocks). */
export function watchReadable(fd: number, onReadable: () => void): { stop(): void; unref(): void } {
  const handle = koffi.node.poll(fd, { readable: true }, (ev) => {
    if (ev.readable) onReadable();
  });
  return {
    stop: () => handle.close(),
    unref: () => handle.unref(),
  };
}
