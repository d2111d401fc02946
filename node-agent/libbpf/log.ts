/**
 * libbpf's print output, captured. One native print callback is installed for the process; while `captureLog` runs
 * a function, every line libbpf prints (the verifier log included) is collected and handed back. Outside a capture,
 * warnings are kept in a short ring (`recentWarnings`) and nothing is written to stderr.
 */
import { loadNative, registerCallback } from './native.js';

/** libbpf print levels. */
export const LogLevel = { WARN: 0, INFO: 1, DEBUG: 2 } as const;

const MAX_CAPTURE_BYTES = 16 * 1024 * 1024; // a verifier log can be large; bound it
let installed = false;
let current: string[] | undefined;
let currentBytes = 0;
let captureLevel: number = LogLevel.INFO;
const warnings: string[] = [];
const scratch = new Uint8Array(64 * 1024);

function install(): void {
  if (installed) return;
  const native = loadNative();
  const onPrint = (level: number, fmt: string, ap: unknown): number => {
    const n = native.vsnprintf(scratch, scratch.length, fmt, ap);
    const text = Buffer.from(scratch.buffer, 0, Math.max(0, Math.min(n, scratch.length - 1))).toString('utf8');
    if (current && level <= captureLevel && currentBytes < MAX_CAPTURE_BYTES) {
      current.push(text);
      currentBytes += text.length;
    }
    if (level === LogLevel.WARN) {
      warnings.push(text);
      if (warnings.length > 50) warnings.shift();
    }
    return 0;
  };
  // Registered (not transient): libbpf keeps the pointer for the life of the process.
  native.libbpf_set_print(registerCallback(onPrint as (...args: never[]) => unknown, native.printFnType));
  installed = true;
}

/**
 * Run `fn` and collect what libbpf prints meanwhile, up to `level` (default INFO; DEBUG is very verbose).
 * @returns `fn`'s result and the log text. If `fn` throws, the error gets the log attached as `libbpfLog`.
 */
export function captureLog<T>(fn: () => T, level: number = LogLevel.INFO): { result: T; log: string } {
  install();
  const outer = current;
  const outerLevel = captureLevel;
  current = [];
  currentBytes = 0;
  captureLevel = level;
  try {
    const result = fn();
    return { result, log: current.join('') };
  } catch (err) {
    if (err && typeof err === 'object') Object.assign(err, { libbpfLog: current.join('') });
    throw err;
  } finally {
    current = outer;
    captureLevel = outerLevel;
  }
}

/** The last warnings libbpf printed outside of any capture (newest last). */
export function recentWarnings(): readonly string[] {
  return [...warnings];
}
