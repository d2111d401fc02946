/**
 * `--format summary`: counts by verdict and drop reason, and the workload pairs with the most dropped flows. Memory
 * is bounded by the number of distinct pairs (capped; the rest are counted as "other pairs").
 */
import type { Flow, Verdict } from '../core/flow/types.js';
import { escapeUntrusted } from '../core/text/index.js';
import { endpointName, portName } from './endpoint-name.js';

interface PairStats {
  count: number;
  reasons: Map<string, number>;
  ports: Map<string, number>;
}

/** Most distinct dropped pairs remembered. */
const MAX_PAIRS = 50_000;

/** Accumulates verdicts for the summary. */
export class SummaryCollector {
  total = 0;
  forwarded = 0;
  dropped = 0;
  proxied = 0;
  readonly reasons = new Map<string, number>();
  private readonly pairs = new Map<string, PairStats>();
  private otherPairs = 0;

  /** Counts one judged flow. */
  add(flow: Flow, v: Verdict): void {
    this.total++;
    if (v.l7 === 'proxy') this.proxied++;
    if (v.verdict === 'FORWARDED') {
      this.forwarded++;
      return;
    }
    this.dropped++;
    const reason = `${v.drop_reason ?? 'UNKNOWN'} at ${v.dropped_at ?? '?'}`;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    // A reply is reported as the connection it answers.
    const [from, to] = flow.isReply ? [flow.dst, flow.src] : [flow.src, flow.dst];
    const key = `${endpointName(from)} → ${endpointName(to)}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      if (this.pairs.size >= MAX_PAIRS) {
        this.otherPairs++;
        return;
      }
      pair = { count: 0, reasons: new Map(), ports: new Map() };
      this.pairs.set(key, pair);
    }
    pair.count++;
    const drop = v.drop_reason ?? 'UNKNOWN';
    pair.reasons.set(drop, (pair.reasons.get(drop) ?? 0) + 1);
    const port = flow.isReply ? portName({ protocol: flow.protocol, dstPort: flow.srcPort, icmpType: flow.icmpType }) : portName(flow);
    if (pair.ports.size < 16 || pair.ports.has(port)) pair.ports.set(port, (pair.ports.get(port) ?? 0) + 1);
  }

  /** The top dropped pairs, most dropped first (ties by name). */
  topPairs(limit: number): { pair: string; count: number; reasons: string[]; ports: string[] }[] {
    return [...this.pairs.entries()]
      .sort(([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0))
      .slice(0, limit)
      .map(([pair, s]) => ({
        pair,
        count: s.count,
        reasons: [...s.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r]) => r),
        ports: [...s.ports.entries()].sort((a, b) => b[1] - a[1]).map(([p]) => p),
      }));
  }

  /**
   * The summary text. `notes` are extra lines (reader counts) printed at the end. Every line quotes input (workload
   * names, malformed flow lines), so each has its untrusted characters escaped: no line can hold a newline or escape.
   */
  render(notes: readonly string[] = [], limit = 10): string {
    const pct = (n: number): string => (this.total === 0 ? '0.0' : ((100 * n) / this.total).toFixed(1));
    const lines = [
      `flows judged: ${this.total}`,
      `  FORWARDED: ${this.forwarded} (${pct(this.forwarded)}%)`,
      `  DROPPED:   ${this.dropped} (${pct(this.dropped)}%)`,
    ];
    for (const [reason, n] of [...this.reasons.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) lines.push(`    ${reason}: ${n}`);
    if (this.proxied > 0) lines.push(`  handed to the L7 proxy: ${this.proxied}`);
    const top = this.topPairs(limit);
    if (top.length > 0) {
      lines.push('', `top dropped workload pairs:`);
      const width = Math.max(...top.map((t) => t.pair.length));
      for (const t of top) {
        const ports = t.ports.slice(0, 4).join(', ') + (t.ports.length > 4 ? ', …' : '');
        lines.push(`  ${String(t.count).padStart(8)}  ${t.pair.padEnd(width)}  ${ports}  ${t.reasons.join('/')}`);
      }
      const rest = this.pairs.size - top.length;
      if (rest > 0 || this.otherPairs > 0) lines.push(`  (${rest} more pairs not shown${this.otherPairs > 0 ? `, ${this.otherPairs} flows in further pairs` : ''})`);
    }
    if (notes.length > 0) lines.push('', ...notes);
    return `${lines.map(escapeUntrusted).join('\n')}\n`;
  }
}
