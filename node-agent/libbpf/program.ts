/** A loaded BPF program: its fd and BPF_PROG_TEST_RUN. */
import { checkRc } from './check.js';
import { Errno, LibbpfError } from './errors.js';
import type { Native, NativePtr, TestRunOptsStruct } from './native.js';

/** What one BPF_PROG_TEST_RUN returned. */
export interface ProgTestRun {
  /** The program's return value (TC: 0 = TC_ACT_OK, 2 = TC_ACT_SHOT). */
  readonly retval: number;
  /** Kernel-measured average duration per repetition, nanoseconds. */
  readonly durationNs: number;
}

/** Largest frame BPF_PROG_TEST_RUN accepts for an skb program here (a page minus headroom/tailroom). */
const MAX_TEST_PACKET = 3584;

/** A program of a loaded object. Not owned: the object closes it. */
export class BpfProgram {
  readonly name: string;
  readonly fd: number;
  private readonly native: Native;

  /** @internal Use BpfObject.program(name). */
  constructor(native: Native, handle: NativePtr, name: string) {
    this.native = native;
    this.name = name;
    this.fd = checkRc('bpf_program__fd', native.bpf_program__fd(handle), name);
  }

  /**
   * Run the program on `data` (a full Ethernet frame for TC programs) `repeat` times in the kernel.
   * @throws LibbpfError EINVAL for frames shorter than 14 bytes or longer than 3584, or repeat < 1.
   */
  testRun(data: Uint8Array, repeat = 1): ProgTestRun {
    if (data.length < 14 || data.length > MAX_TEST_PACKET || !Number.isInteger(repeat) || repeat < 1 || repeat > 2 ** 31 - 1) {
      throw new LibbpfError('bpf_prog_test_run_opts', Errno.EINVAL, `${this.name}: packet must be 14..${MAX_TEST_PACKET} bytes and repeat ≥ 1`);
    }
    const opts: TestRunOptsStruct = {
      sz: this.native.sizes.testRunOpts,
      data_in: data,
      data_out: null,
      data_size_in: data.length,
      data_size_out: 0,
      ctx_in: null,
      ctx_out: null,
      ctx_size_in: 0,
      ctx_size_out: 0,
      retval: 0,
      repeat,
      duration: 0,
      flags: 0,
      cpu: 0,
      batch_size: 0,
    };
    checkRc('bpf_prog_test_run_opts', this.native.bpf_prog_test_run_opts(this.fd, opts), this.name);
    return { retval: opts.retval, durationNs: opts.duration };
  }

  /** The kernel's id of this program (as `bpftool prog list` shows it). */
  id(): number {
    return objectId(this.native, this.fd, 'prog');
  }
}

/** The kernel id of a prog or map fd (first u32 after the type in bpf_prog_info/bpf_map_info). */
export function objectId(native: Native, fd: number, kind: 'prog' | 'map'): number {
  const info = new Uint8Array(256);
  const len = new Uint32Array([info.length]);
  checkRc('bpf_obj_get_info_by_fd', native.bpf_obj_get_info_by_fd(fd, info, len), kind);
  return new DataView(info.buffer).getUint32(4, true);
}
