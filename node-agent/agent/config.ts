/**
 * The agent's optional config file (JSON): what the bake window checks besides self-tests.
 *
 * ```json
 * {"health": {"command": ["/usr/local/bin/check"], "timeoutSeconds": 10}, "bake": {"maxPolicyDrops": 1000, "intervalSeconds": 5}}
 * ```
 * or `"health": {"url": "http://127.0.0.1:8080/healthz"}` (healthy = a 2xx answer).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { escapeUntrusted } from '../../pipeline/core/text/index.js';
import { AgentError } from './errors.js';

/** The parsed config. */
export interface AgentConfig {
  readonly health?: { readonly command?: readonly string[]; readonly url?: string; readonly timeoutMs: number };
  readonly bake: { readonly maxPolicyDrops?: number; readonly intervalMs: number };
}

/** Defaults when no config file is given. */
export const DEFAULT_CONFIG: AgentConfig = { bake: { intervalMs: 5000 } };

/**
 * Reads a config file.
 * @throws AgentError `bad-config` naming the file and field
 */
export function readAgentConfig(path: string): AgentConfig {
  let v: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    if (text.length > 1024 * 1024) throw new Error('larger than 1 MiB');
    v = JSON.parse(text);
  } catch (err) {
    throw new AgentError('bad-config', `${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const bad = (what: string): never => {
    throw new AgentError('bad-config', `${path}: ${what}`);
  };
  if (!isRecord(v)) bad('expected a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'health' && k !== 'bake') bad(`unknown field '${k}'`);
  let health: AgentConfig['health'];
  if (o.health !== undefined) {
    if (!isRecord(o.health)) bad('health: expected an object');
    const h = o.health as Record<string, unknown>;
    const timeoutMs = seconds(h.timeoutSeconds ?? 10, 'health.timeoutSeconds', bad);
    if (h.command !== undefined) {
      if (!Array.isArray(h.command) || h.command.length === 0 || !h.command.every((c) => typeof c === 'string')) bad('health.command: expected a non-empty list of strings');
      health = { command: h.command as string[], timeoutMs };
    } else if (h.url !== undefined) {
      if (typeof h.url !== 'string' || !/^https?:\/\//.test(h.url)) bad('health.url: expected an http(s) URL');
      health = { url: h.url as string, timeoutMs };
    } else bad('health: give a command or a url');
  }
  const b = o.bake === undefined ? {} : isRecord(o.bake) ? (o.bake as Record<string, unknown>) : bad('bake: expected an object');
  const maxPolicyDrops = b.maxPolicyDrops === undefined ? undefined : count(b.maxPolicyDrops, 'bake.maxPolicyDrops', bad);
  const intervalMs = seconds(b.intervalSeconds ?? 5, 'bake.intervalSeconds', bad);
  return { ...(health ? { health } : {}), bake: { ...(maxPolicyDrops !== undefined ? { maxPolicyDrops } : {}), intervalMs } };
}

/**
 * The health check of a config: runs the command (healthy = exit 0) or asks the URL (healthy = 2xx), within the
 * timeout.
 * @returns a function answering null when healthy, else why not; undefined when the config has no health check
 */
export function healthCheck(config: AgentConfig): (() => Promise<string | null>) | undefined {
  const h = config.health;
  if (!h) return undefined;
  if (h.command) {
    const [cmd, ...args] = h.command;
    return () =>
      new Promise((resolve) => {
        execFile(cmd!, args, { timeout: h.timeoutMs, maxBuffer: 64 * 1024 }, (err) => {
          if (!err) return resolve(null);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          resolve(e.killed ? `${cmd} timed out` : `${cmd} exited with ${String(e.code)}`);
        });
      });
  }
  const url = h.url!;
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(h.timeoutMs), redirect: 'manual' });
      if (res.ok) {
        await res.body?.cancel();
        return null;
      }
      // The answer's first line says why (health endpoints usually do), bounded: it goes into logs and reports.
      const why = (await boundedText(res, 300)).split('\n')[0]!.trim();
      return `HTTP ${res.status} from ${url}${why ? `: ${escapeUntrusted(why)}` : ''}`;
    } catch (err) {
      return `${url}: ${(err as Error).message}`;
    }
  };
}

/** At most `max` bytes of a response body, as text (the rest is not read). */
async function boundedText(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function seconds(v: unknown, where: string, bad: (w: string) => never): number {
  if (typeof v !== 'number' || !(v > 0) || v > 3600) bad(`${where}: expected seconds in (0, 3600]`);
  return Math.round((v as number) * 1000);
}

function count(v: unknown, where: string, bad: (w: string) => never): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${where}: expected a whole number >= 0`);
  return v as number;
}
