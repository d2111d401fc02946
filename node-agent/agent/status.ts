/**
 * `palisade-agent status`: what the agent in a state directory enforces and how it is doing, read from the state
 * files (works whether the agent runs or not).
 */
import { alive, type PersistedState } from './state-dir.js';
import { escapeUntrusted } from '../../pipeline/core/text/index.js';


/** The status as one JSON-able object. */
export function statusObject(p: PersistedState): Record<string, unknown> {
  const s = p.status;
  return {
    enforced: p.enforced?.record ?? null,
    minSerial: p.trusted?.minSerial ?? 0,
    trustRootVersion: p.trusted?.trustRootVersion ?? null,
    lastRejection: p.rejections[p.rejections.length - 1] ?? null,
    lastRollback: p.rollback,
    agent: s ? { pid: s.pid, running: alive(s.pid), updatedAt: s.updatedAt, applying: s.applying } : null,
    store: s?.store ?? null,
    endpoints: s?.endpoints ?? null,
    endpointEntries: s?.endpointEntries ?? [],
    mapPressure: s?.mapPressure ?? [],
  };
}

/** The status as text lines (input-derived text escaped). */
export function statusText(p: PersistedState): string {
  const e = escapeUntrusted;
  const lines: string[] = [];
  const r = p.enforced?.record;
  lines.push(r ? `enforcing       serial ${r.serial} (${r.manifestDigest}), commit ${e(r.commit)} of ${e(r.repository)}, since ${r.since}, generation ${r.generation}` : 'enforcing       nothing (no bundle committed yet)');
  const rej = p.rejections[p.rejections.length - 1];
  lines.push(rej ? `last rejection  ${rej.serial !== null ? `serial ${rej.serial}` : rej.bundleDigest} at ${rej.step}: ${rej.code}: ${e(rej.message)} (${rej.at})` : 'last rejection  none');
  const rb = p.rollback;
  lines.push(rb ? `last rollback   serial ${rb.fromSerial} -> ${rb.toSerial ?? 'no policy'}: ${rb.reason}: ${e(rb.message)} (${rb.at})` : 'last rollback   none');
  const s = p.status;
  if (!s) {
    lines.push('agent           never ran with this state directory');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`agent           pid ${s.pid} ${alive(s.pid) ? 'running' : 'not running'} (status of ${s.updatedAt})${s.applying ? `, applying ${s.applying}` : ''}`);
  lines.push(`store           ${e(s.store.location)}: ${s.store.up ? 'up' : e(s.store.lastError ?? 'store unreachable')}${s.store.nextAttemptAt ? `, next attempt ${s.store.nextAttemptAt}` : ''}`);
  lines.push(`endpoints       ${s.endpoints.pods} pods, ${s.endpoints.local} on this node, from ${e(s.endpoints.source)}${s.endpoints.lastError ? ` (last change not applied: ${e(s.endpoints.lastError)})` : ''}`);
  lines.push('endpoint entries');
  if (s.endpointEntries.length === 0) lines.push('  none');
  for (const x of s.endpointEntries) lines.push(`  ${e(x.endpoint)}  ${x.entries} / ${x.max}`);
  lines.push('map pressure');
  for (const m of s.mapPressure) lines.push(`  ${m.map}  ${m.entries} / ${m.max} (${((100 * m.entries) / Math.max(1, m.max)).toFixed(1)}%)`);
  return `${lines.join('\n')}\n`;
}
