/** Pinning in bpffs: pin an fd at a path, get an fd back from a pin, and make sure bpffs is there. */
import { mkdirSync } from 'node:fs';
import { bpffsMounted, checkRc, errorFor } from './check.js';
import { BpffsMissingError } from './errors.js';
import { loadNative } from './native.js';

/**
 * Refuse early when bpffs is not mounted at /sys/fs/bpf, then create `dir` (recursively) inside it.
 * @throws BpffsMissingError when /sys/fs/bpf is no bpf filesystem; LibbpfError when `dir` is outside it.
 */
export function ensurePinDir(dir: string): void {
  if (!bpffsMounted()) throw new BpffsMissingError('pin', '/sys/fs/bpf');
  if (dir !== '/sys/fs/bpf' && !dir.startsWith('/sys/fs/bpf/')) throw errorFor('pin', 22, `${dir} is not under /sys/fs/bpf`);
  mkdirSync(dir, { recursive: true });
}

/** Pin `fd` at `path` (bpffs). @throws LibbpfError (EEXIST when the path is taken) or BpffsMissingError. */
export function objPin(fd: number, path: string): void {
  checkRc('bpf_obj_pin', loadNative().bpf_obj_pin(fd, path), path);
}

/** Open the object pinned at `path`; the caller owns (and must close) the returned fd. @throws LibbpfError. */
export function objGet(path: string): number {
  return checkRc('bpf_obj_get', loadNative().bpf_obj_get(path), path);
}

/** Close an fd from `objGet`. */
export function closeFd(fd: number): void {
  loadNative().close(fd);
}
