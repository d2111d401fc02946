/**
 * Fault injection for crash tests: a publish calls `faultPoint(step)` between its durable steps; when the
 * environment variable PALISADE_FAULT_STEP names that step, the process kills itself with SIGKILL right there, the
 * way a power cut or an OOM kill would stop it. Unset (always, outside tests), it does nothing.
 */

/** The publish steps a test can stop a publisher at, in the order a publish reaches them. */
export const FS_PUBLISH_STEPS = [
  'fs:blob-temp-written', // blob bytes in tmp/, fsynced, not yet renamed
  'fs:blob-renamed', // blob in blobs/sha256/, directory not yet fsynced
  'fs:head-temp-written', // pointer record in tmp/, not yet linked
  'fs:head-linked', // pointer record linked into heads/: the publish has taken effect
  'fs:hint-temp-written', // latest.json replacement in tmp/, not yet renamed
  'fs:hint-renamed', // latest.json replaced, temp files not yet cleaned
] as const;

/** Stops the process with SIGKILL when PALISADE_FAULT_STEP equals `step`. */
export function faultPoint(step: string): void {
  if (process.env.PALISADE_FAULT_STEP === step) process.kill(process.pid, 'SIGKILL');
}
