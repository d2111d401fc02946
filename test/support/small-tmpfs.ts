/**
 * A real, small tmpfs (root: these machines run tests as root) to fill to the brim, so that a write fails with a
 * true ENOSPC from the kernel, and the helpers to fill it and free it again.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mounted tmpfs of `sizeKiB` KiB. `unmount` removes it (call it in afterAll). */
export interface SmallTmpfs {
  readonly dir: string;
  /** Writes a file `fill` until the filesystem answers ENOSPC. */
  fill(): void;
  /** Removes `fill`. */
  free(): void;
  unmount(): void;
}

/** Mounts a tmpfs of `sizeKiB` KiB on a fresh directory. @throws when mount fails (not root). */
export function mountSmallTmpfs(sizeKiB = 64): SmallTmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
  const fillPath = join(dir, 'fill');
  return {
    dir,
    fill() {
      const fd = openSync(fillPath, 'a');
      const block = Buffer.alloc(512, 0x61);
      try {
        for (;;) {
          try {
            writeSync(fd, block);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
        // Down to the last byte: a short write leaves room for less than a block.
        for (;;) {
          try {
            if (writeSync(fd, block, 0, 1) === 0) break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      unlinkSync(fillPath);
    },
    unmount() {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    },
  };
}
