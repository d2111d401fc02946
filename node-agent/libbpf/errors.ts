/**
 * Typed errors at the koffi/libbpf boundary. Every failing libbpf call becomes a LibbpfError carrying the errno,
 * the operation and a message a person can act on; a failed program load becomes a VerifierError with the log.
 */
import { PalisadeError } from '../../pipeline/core/errors.js';

/** errno values this module names (Linux x86-64). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  ENOTSUPP: 524,
  EOPNOTSUPP: 95,
} as const;

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** The symbolic name of an errno (`EPERM`), or `errno N`. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** What an errno means for this operation, in words. */
function explain(op: string, errno: number, detail: string | undefined): string {
  switch (errno) {
    case Errno.EPERM:
    case Errno.EACCES:
      return 'needs root or CAP_BPF (and CAP_NET_ADMIN for TC)';
    case Errno.ENOENT:
      return detail?.startsWith('/sys/fs/bpf') ? `not found: ${detail} (is bpffs mounted at /sys/fs/bpf?)` : `not found${detail ? `: ${detail}` : ''}`;
    case Errno.ENODEV:
      return `no such network interface${detail ? `: ${detail}` : ''}`;
    case Errno.E2BIG:
    case Errno.ENOSPC:
      return op.includes('update') ? 'map is full (max_entries reached)' : 'too big';
    case Errno.ENOMEM:
      return 'out of memory (memlock limit or kernel memory)';
    case Errno.EEXIST:
      return `already exists${detail ? `: ${detail}` : ''}`;
    case Errno.EINVAL:
      return `invalid argument${detail ? ` (${detail})` : ''}`;
    case Errno.EOPNOTSUPP:
    case Errno.ENOTSUPP:
      return 'not supported by this kernel for this map or program type';
    case Errno.EBUSY:
      return 'busy (already attached or in use)';
    default:
      return detail ?? 'failed';
  }
}

/** A libbpf call failed. `code` is `libbpf-failed`; branch on `errno` and `operation`. */
export class LibbpfError extends PalisadeError {
  declare readonly code: 'libbpf-failed';
  /** Positive errno. */
  readonly errno: number;
  /** The libbpf function (`bpf_map_update_elem`, ...). */
  readonly operation: string;
  constructor(operation: string, errno: number, detail?: string, options?: { cause?: unknown; message?: string }) {
    super('libbpf-failed', options?.message ?? `${operation}: ${explain(operation, errno, detail)} [${errnoName(errno)}]`, options);
    this.errno = errno;
    this.operation = operation;
  }
}

/** bpffs is not mounted where pins are asked for. */
export class BpffsMissingError extends LibbpfError {
  constructor(operation: string, dir: string) {
    super(operation, Errno.ENOENT, undefined, { message: `${operation}: bpffs not mounted at ${dir} (mount -t bpf bpf ${dir})` });
  }
}

/** The verifier (or libbpf's relocation) refused a program. `log` holds what libbpf printed, verifier log included. */
export class VerifierError extends LibbpfError {
  readonly log: string;
  constructor(operation: string, errno: number, log: string) {
    const tail = log.trim().split('\n').slice(-12).join('\n');
    super(operation, errno, undefined, {
      message: `${operation}: the kernel refused the BPF object [${errnoName(errno)}]; last lines of the log:\n${tail}`,
    });
    this.log = log;
  }
}
