/**
 * Runs command modules in-process the way `main()` does (a thrown error becomes its reported exit code) and
 * captures what they print.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { reportError } from '../../pipeline/cli/main.js';

/** What the commands printed since the current test started (reset with `clear`). */
export const printed = {
  out: '',
  err: '',
  clear(): void {
    this.out = '';
    this.err = '';
  },
};

/** Installs stdout/stderr capture around every test of the calling file. */
export function captureOutput(): void {
  beforeEach(() => {
    printed.clear();
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((printed.out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((printed.err += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
}

/** Runs a command's `run`; errors it throws are reported as main() would. @returns the exit code. */
export async function cli(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    return reportError(e);
  }
}
