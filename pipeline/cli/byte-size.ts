/**
 * Byte sizes on the command line: `4GiB`, `512MiB`, `64KiB`, `1000000` (binary units; `K`, `M`, `G`, `T` mean the
 * same as `KiB`... ; a trailing `B` is optional).
 */
import { UsageError } from '../core/errors.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size given to `option`.
 * @returns the size in bytes, a positive safe integer
 * @throws UsageError for anything else (exit 2)
 */
export function parseByteSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`${option} takes a size such as 4GiB, 512MiB or 1000000 (bytes), not '${text}'`);
  return bytes;
}
