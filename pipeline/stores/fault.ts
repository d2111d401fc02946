/**
 * Fault injection for crash tests: a publish (or a record write) calls `faultPoint(step)` between its durable steps; when the
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

/** The record write steps of the filesystem store a test can stop a writer at, in order; all hold the record's lock. */
export const FS_RECORD_STEPS = [
  'records:locked', // lock held, nothing written
  'records:temp-written', // new version in a temp file, fsynced, not yet linked
  'records:linked', // new version linked: the write has taken effect; directory not yet fsynced, nothing swept
] as const;

/** Stops the process with SIGKILL when PALISADE_FAULT_STEP equals `step`. */
export function faultPoint(step: string): void {
  if (process.env.PALISADE_FAULT_STEP === step) process.kill(process.pid, 'SIGKILL');
}
