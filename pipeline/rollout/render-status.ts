/**
 * `palisade rollout status` as text: the rollout's phase and reason, each wave with its nodes and whether it was
 * promoted, each node's target and what it reports (in audit its drops are would-be drops, forwarded and reported
 * AUDIT, beside the simulation's prediction for the node), and the current wave's gate measurements. Pure: the caller
 * reads the store and passes everything in. Text from the store (reasons, node names, labels) is escaped by the
 * CLI's output layer, which writes it.
 */
import { assessMetric } from './assess-metric.js';
import type { NodeStatus, NodeTargetValue } from './fleet-records.js';
import type { RolloutSpec, RolloutState } from './types.js';

/** Everything the status shows. */
export interface StatusView {
  readonly state: RolloutState | undefined;
  readonly spec: RolloutSpec;
  readonly statuses: ReadonlyMap<string, NodeStatus>;
  readonly targets: ReadonlyMap<string, NodeTargetValue>;
  readonly now: number;
}

/** The status as lines of text (no trailing newline). */
export function renderStatus(v: StatusView): string {
  const s = v.state;
  if (!s) return 'no rollout yet: nothing has been published to this store';
  const out: string[] = [];
  out.push(`rollout of serial ${s.bundle.serial} (${short(s.bundle.digest)}): ${s.phase.toUpperCase()}${s.stable ? `; stable serial ${s.stable.serial}` : '; no stable bundle yet'}`);
  out.push(`started ${iso(s.startedAt)}, updated ${iso(s.updatedAt)} (${ago(v.now - s.updatedAt)})`);
  if (s.reason) out.push(`reason: ${s.reason}`);
  if (s.blastRadius) {
    out.push(`blast radius: ${s.blastRadius.nodes.length} node(s) (${s.blastRadius.nodes.join(', ') || 'none'}), exposed ${seconds(s.blastRadius.exposedMs)}, ${s.blastRadius.drops} drop(s)`);
  }
  if (s.rollbackBundle) out.push(`rollback bundle: serial ${s.rollbackBundle.serial} (${short(s.rollbackBundle.digest)}), reverting ${s.bundle.serial}`);
  if (s.supersededBy !== null) out.push(`superseded by serial ${s.supersededBy}`);

  out.push('', 'waves:');
  v.spec.waves.forEach((w, i) => {
    const nodes = Object.keys(s.reached).filter((n) => s.reached[n]!.wave === i).sort();
    const select = w.select.kind === 'labels' ? `labels ${Object.entries(w.select.matchLabels).map(([k, x]) => `${k}=${x}`).join(',') || '(all)'}` : `${w.select.percent}%`;
    const where = s.promoted.includes(i) ? 'promoted' : i === s.wave && (s.phase === 'aborted' || s.phase === 'superseded') ? s.phase : i === s.wave && (s.phase === 'progressing' || s.phase === 'paused') ? (s.waveHealthyAt === null ? 'current: waiting for nodes' : `current: baking since ${ago(v.now - s.waveHealthyAt)}`) : i < s.wave ? 'passed' : 'not reached';
    const mode = w.auditNamespaces ? `audit (namespaces ${w.auditNamespaces.join(', ')})` : w.mode;
    out.push(`  ${String(i).padEnd(2)} ${w.name.padEnd(12)} ${select.padEnd(24)} bake ${seconds(w.bakeMs).padEnd(6)} ${mode.padEnd(7)} ${where}${nodes.length ? ` — ${nodes.join(', ')}` : ''}`);
  });

  const names = [...new Set([...v.statuses.keys(), ...v.targets.keys()])].sort();
  out.push('', 'nodes:');
  const rows = [['NODE', 'WAVE', 'TARGET', 'RUNNING', 'PHASE', 'MODE', 'DROPS', 'PREDICTED', 'REPORTED']];
  for (const n of names) {
    const st = v.statuses.get(n);
    const t = v.targets.get(n);
    rows.push([
      n,
      Object.hasOwn(s.reached, n) ? String(s.reached[n]!.wave) : '-',
      t?.bundle ? `${t.bundle.serial}${t.mode === 'audit' ? ` (audit${t.auditNamespaces ? `: ${t.auditNamespaces.join(',')}` : ''})` : ''}` : '-',
      st?.bundle ? String(st.bundle.serial) : '-',
      st ? `${st.phase}${st.reason ? ` (${st.reason.code})` : ''}` : 'no report',
      st?.mode ?? '-',
      // In audit nothing was dropped: these packets would have been (AUDIT), and the drop gate judges them so.
      st ? `${st.drops}${st.mode === 'audit' ? ' would-be' : ''}` : '-',
      st?.predictedDrops !== undefined ? String(st.predictedDrops) : '-',
      st ? ago(v.now - st.reportedAt) : '-',
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) out.push(`  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}`);

  if (v.spec.gates.metrics.length > 0) {
    out.push('', `metric gates (wave ${s.wave}):`);
    for (const g of v.spec.gates.metrics) {
      const ms = s.measurements.filter((m) => m.gate === g.name);
      const last = ms.at(-1);
      const value = last ? (last.value !== undefined ? `last ${last.value}` : (last.message ?? last.outcome)) : 'not measured yet';
      out.push(`  ${g.name.padEnd(16)} ${assessMetric(g, ms).padEnd(12)} ${ms.length}/${g.count} measured, ${value} (success: value ${g.successCondition.op} ${g.successCondition.threshold})`);
    }
  }
  return out.join('\n');
}

function short(digest: string): string {
  return `${digest.slice(0, 19)}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function ago(ms: number): string {
  if (ms < 0) return 'just now';
  if (ms < 120_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m ago`;
  return `${Math.round(ms / 3_600_000)}h ago`;
}
