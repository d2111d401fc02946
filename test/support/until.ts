/**
 * Waiting for something another process does, without asserting on time: polls `cond` every 50 ms and fails with
 * the given log after a generous bound (60 s), so a slow machine waits longer instead of failing.
 */
export async function until(cond: () => boolean | Promise<boolean>, log: () => string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition never held; log:\n${log()}`);
}
