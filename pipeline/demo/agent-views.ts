/**
 * What the demo shows of its agents, read the way an operator would: the Prometheus metrics they serve, and
 * `palisade-agent observe` lines (Hubble JSON) rendered one short line each.
 */
import { execFile } from 'node:child_process';
import { escapeUntrusted } from '../core/text/index.js';

/** Packets an agent's datapath forwarded and dropped (all reasons and directions), from its /metrics. */
export async function packetCounts(metricsUrl: string): Promise<{ forwarded: number; dropped: number }> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const sum = (name: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((s, l) => s + (Number(l.slice(l.lastIndexOf(' ') + 1)) || 0), 0);
  return { forwarded: sum('palisade_forward_count_total'), dropped: sum('palisade_drop_count_total') };
}

/** The last `n` lines `palisade-agent observe --state-dir DIR --verdict V` prints. */
export function observeLines(agentBin: string, stateDir: string, verdict: string, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(agentBin, ['observe', '--state-dir', stateDir, '--verdict', verdict], { maxBuffer: 64 * 1024 * 1024, timeout: 20_000 }, (err, stdout) => {
      resolve(err ? [] : stdout.trim().split('\n').filter(Boolean).slice(-n));
    });
  });
}

type End = { namespace?: string; pod_name?: string };

/** One Hubble JSON line as `VERDICT src → dst PROTO/port (reason, direction)`. */
export function renderFlowLine(line: string): string {
  try {
    const { flow } = JSON.parse(line) as {
      flow: { verdict?: string; source?: End; destination?: End; IP?: { source?: string; destination?: string }; l4?: Record<string, { destination_port?: number }>; drop_reason_desc?: string; traffic_direction?: string };
    };
    const end = (e: End | undefined, ip: string | undefined): string => (e?.pod_name ? `${e.namespace}/${e.pod_name}` : (ip ?? '?'));
    const proto = Object.keys(flow.l4 ?? {})[0];
    const port = proto ? flow.l4![proto]!.destination_port : undefined;
    const why = [flow.drop_reason_desc, flow.traffic_direction?.toLowerCase()].filter(Boolean).join(', ');
    return escapeUntrusted(`${flow.verdict} ${end(flow.source, flow.IP?.source)} → ${end(flow.destination, flow.IP?.destination)} ${proto ?? ''}/${port ?? ''}${why ? ` (${why})` : ''}`);
  } catch {
    return escapeUntrusted(line.slice(0, 200));
  }
}
