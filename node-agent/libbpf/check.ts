/**
 * The one place where libbpf return conventions become typed errors: negative return = -errno (libbpf 1.x),
 * NULL pointer = failure with errno set.
 */
import { readFileSync } from 'node:fs';
import { BpffsMissingError, Errno, LibbpfError } from './errors.js';
import type { Native, NativePtr } from './native.js';

/**
 * Throw a LibbpfError for a negative libbpf return code; return it otherwise.
 * @param detail what was operated on (a path, an interface, a map name), for the message.
 */
export function checkRc(operation: string, rc: number, detail?: string): number {
  if (rc >= 0) return rc;
  throw errorFor(operation, -rc, detail);
}

/** Throw a LibbpfError when a libbpf constructor returned NULL; errno says why. */
export function checkPtr<T extends NativePtr>(native: Native, operation: string, ptr: T | null, detail?: string): T {
  if (ptr !== null && ptr !== undefined) return ptr;
  throw errorFor(operation, native.errno() || Errno.EINVAL, detail);
}

/** The typed error for `errno`; paths under /sys/fs/bpf that do not exist mean bpffs is missing. */
export function errorFor(operation: string, errno: number, detail?: string): LibbpfError {
  if (detail?.startsWith('/sys/fs/bpf') && (errno === Errno.ENOENT || errno === Errno.EINVAL || errno === Errno.EPERM)) {
    if (!bpffsMounted()) return new BpffsMissingError(operation, '/sys/fs/bpf');
  }
  return new LibbpfError(operation, errno, detail);
}

/** Whether a bpf filesystem is mounted at /sys/fs/bpf (reads /proc/self/mounts). */
export function bpffsMounted(dir = '/sys/fs/bpf'): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => {
        const [, mnt, type] = line.split(' ');
        return mnt === dir && type === 'bpf';
      });
  } catch {
    return false;
  }
}
