/**
 * `palisade-agent observe`: the agent's flow log (Hubble JSON lines), filtered by verdict, namespace and pod, and with
 * `--follow` kept open for new lines (rotation is followed).
 */
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FLOW_LOG, FLOW_LOG_OLD } from './flow-log.js';

/** Options of {@link observe}. */
export interface ObserveOptions {
  readonly stateDir: string;
  readonly follow: boolean;
  readonly verdict?: string;
  readonly namespace?: string;
  /** `NAME` or `NS/NAME`. */
  readonly pod?: string;
  readonly out: NodeJS.WritableStream;
  readonly signal: AbortSignal;
  /** Polling interval of `follow`, in milliseconds. */
  readonly pollMs?: number;
}

type End = { namespace?: string; pod_name?: string };

/** Whether a Hubble line passes the filters (lines that do not parse never do). */
export function matches(line: string, o: Pick<ObserveOptions, 'verdict' | 'namespace' | 'pod'>): boolean {
  let rec: { flow?: { verdict?: string; source?: End; destination?: End } };
  try {
    rec = JSON.parse(line);
  } catch {
    return false;
  }
  const f = rec.flow;
  if (!f) return false;
  if (o.verdict !== undefined && f.verdict !== o.verdict.toUpperCase()) return false;
  const ends = [f.source ?? {}, f.destination ?? {}];
  if (o.namespace !== undefined && !ends.some((e) => e.namespace === o.namespace)) return false;
  if (o.pod !== undefined) {
    const [ns, name] = o.pod.includes('/') ? o.pod.split('/', 2) : [undefined, o.pod];
    if (!ends.some((e) => e.pod_name === name && (ns === undefined || e.namespace === ns))) return false;
  }
  return true;
}

/** Prints matching lines of the flow log; with `follow`, keeps going until `signal` aborts. */
export async function observe(o: ObserveOptions): Promise<void> {
  const emit = (text: string): string => {
    const parts = text.split('\n');
    const rest = parts.pop() ?? '';
    for (const l of parts) if (l !== '' && matches(l, o)) o.out.write(`${l}\n`);
    return rest;
  };
  const old = join(o.stateDir, FLOW_LOG_OLD);
  const current = join(o.stateDir, FLOW_LOG);
  if (existsSync(old)) emit(await readFrom(old, 0));
  let ino = -1;
  let offset = 0;
  let partial = '';
  for (;;) {
    if (existsSync(current)) {
      const s = statSync(current);
      if (s.ino !== ino || s.size < offset) {
        // Rotated: what was appended to the file we were reading before it moved is in flows.1.jsonl now.
        if (ino !== -1 && existsSync(old) && statSync(old).ino === ino) emit(partial + (await readFrom(old, offset)));
        ino = s.ino;
        offset = 0;
        partial = '';
      }
      if (s.size > offset) {
        const text = await readFrom(current, offset, s.size - offset);
        offset += Buffer.byteLength(text);
        partial = emit(partial + text);
        continue;
      }
    }
    if (!o.follow || o.signal.aborted) return;
    try {
      await sleep(o.pollMs ?? 200, undefined, { signal: o.signal });
    } catch {
      return;
    }
  }
}

/** Up to `max` bytes (default 4 MiB) of `path` from `offset`, cut after the last complete UTF-8 character. */
async function readFrom(path: string, offset: number, max = 4 * 1024 * 1024): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max, 4 * 1024 * 1024));
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    // Never split a multi-byte character: a last one that is incomplete is read next time.
    let p = bytesRead - 1;
    while (p > 0 && bytesRead - p < 4 && ((buf[p] ?? 0) & 0xc0) === 0x80) p--;
    const lead = buf[p] ?? 0;
    const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    const end = bytesRead > 0 && p + len > bytesRead ? p : bytesRead;
    return buf.subarray(0, end).toString('utf8');
  } finally {
    await fh.close();
  }
}
