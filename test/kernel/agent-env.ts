/**
 * What the agent's kernel tests share: bundle validity around the real clock, waiting on the state directory, the
 * exit of an agent process, and removing the datapath an agent leaves enforcing on purpose.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Manifest times valid from now for a day (the agent checks expiry against the real clock). */
export const NOW = { createdAt: new Date(Math.floor(Date.now() / 1000) * 1000), expiresAt: new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000) };

/** Polls `pred` every 100 ms until it is true. @throws after `ms` with `log()` in the message */
export async function until(what: string, pred: () => Promise<boolean>, log: () => string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; agent log:\n${log()}`);
}

/** How a child process ended (at once when it already has). */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => r({ code, signal }));
  });
}

/** Unpins what an agent with `pinDir` pinned (and its self-test directories), as an operator removing it would. */
export function removeAgentPins(pinDir: string): void {
  for (const d of [pinDir, `${pinDir}-probe`, `${pinDir}-selftest`]) {
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) unlinkSync(join(d, n));
    rmSync(d, { recursive: true, force: true });
  }
}
