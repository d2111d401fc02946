/**
 * The `rollout:` section of a policy repository's palisade.yaml, read from the located YAML tree so that every
 * mistake points at its file:line:col. Unknown keys are errors (a misspelt gate must not be silently off). Durations
 * are written `500ms`, `30s`, `2m`, `1h` (or combined, `1m30s`).
 *
 * ```yaml
 * rollout:
 *   waves:
 *     - name: canary
 *       nodeSelector: { matchLabels: { palisade.io/canary: "true" } }   # or: percent: 10
 *       bake: 2m
 *       mode: audit            # judge by the new bundle but forward; the next wave enforces (not on the last wave)
 *       auditNamespaces: [payments]   # optional: only these namespaces' pods audit, the rest enforces
 *     - name: everyone
 *       percent: 100
 *   gates:
 *     reportTimeout: 2m        # an agent silent this long fails the wave
 *     maxDrops: { absolute: 50, perPredicted: 2 }
 *     metrics:
 *       - name: drop-rate
 *         query: sum(rate(palisade_drop_count_total{node=~"$nodes"}[1m]))
 *         successCondition: "< 5"
 *         interval: 30s
 *         count: 3
 * ```
 */
import { entryOf, items, type YMap, type YNode } from '../core/load/index.js';
import { errorAt, type Diagnostic } from '../core/validate/diagnostic.js';
import { MAX_AUDIT_NAMESPACES, parseAuditScope } from '../core/evaluate/audit-scope.js';
import type { EnforcementMode, GatesSpec, MetricCondition, MetricGateSpec, RolloutSpec, WaveSpec } from './types.js';

/** The spec used when palisade.yaml has no `rollout:`: a 10% canary (at least one node) baking 1 m, then everyone. */
export const DEFAULT_ROLLOUT_SPEC: RolloutSpec = {
  waves: [
    { name: 'canary', select: { kind: 'percent', percent: 10 }, bakeMs: 60_000, mode: 'enforce' },
    { name: 'everyone', select: { kind: 'percent', percent: 100 }, bakeMs: 60_000, mode: 'enforce' },
  ],
  gates: { reportTimeoutMs: 120_000, metrics: [] },
};

const CODE = 'rollout-spec-invalid';
const MAX_WAVES = 32;
const MAX_GATES = 16;
const MAX_DURATION_MS = 7 * 24 * 3600_000;

/**
 * Reads a `rollout:` node.
 * @returns the spec when there are no errors, and every error found (positioned, in source order), never throwing.
 */
export function parseRolloutSpec(node: YNode): { spec: RolloutSpec | undefined; diagnostics: Diagnostic[] } {
  const out: Diagnostic[] = [];
  const top = asMap(node, 'rollout', out);
  if (!top) return { spec: undefined, diagnostics: out };
  onlyKeys(top, ['waves', 'gates'], 'rollout', out);
  const wavesNode = entryOf(top, 'waves')?.value;
  const waves: WaveSpec[] = [];
  if (!wavesNode || wavesNode.kind !== 'seq' || wavesNode.items.length === 0) {
    out.push(errorAt(CODE, 'rollout.waves must list at least one wave', wavesNode?.pos ?? top.pos));
  } else if (wavesNode.items.length > MAX_WAVES) {
    out.push(errorAt(CODE, `rollout.waves lists ${wavesNode.items.length} waves; at most ${MAX_WAVES}`, wavesNode.pos));
  } else {
    let lastPercent = 0;
    wavesNode.items.forEach((w, i) => {
      const wave = parseWave(w, i, out);
      if (!wave) return;
      if (wave.select.kind === 'percent') {
        if (wave.select.percent < lastPercent) out.push(errorAt(CODE, `rollout.waves[${i}].percent ${wave.select.percent} is below an earlier wave's ${lastPercent}: percentages are cumulative`, w.pos));
        lastPercent = Math.max(lastPercent, wave.select.percent);
      }
      waves.push(wave);
    });
    // Audit is followed by enforcement when the next wave starts: the last wave has no next one to gate it.
    const last = waves.at(-1);
    if (last?.mode === 'audit' && waves.length === wavesNode.items.length) {
      out.push(errorAt(CODE, `rollout.waves[${waves.length - 1}] is the last wave and cannot audit: its nodes would enforce only when the rollout completes, ungated; add a wave after it`, wavesNode.items[waves.length - 1]!.pos));
    }
    const names = new Map<string, number>();
    waves.forEach((w, i) => {
      if (names.has(w.name)) out.push(errorAt(CODE, `wave name '${w.name}' is used twice`, wavesNode.items[i]!.pos));
      names.set(w.name, i);
    });
  }
  const gatesNode = entryOf(top, 'gates')?.value;
  const gates = gatesNode ? parseGates(gatesNode, out) : DEFAULT_ROLLOUT_SPEC.gates;
  out.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  return { spec: out.length === 0 && gates ? { waves, gates } : undefined, diagnostics: out };
}

function parseWave(node: YNode, i: number, out: Diagnostic[]): WaveSpec | undefined {
  const where = `rollout.waves[${i}]`;
  const m = asMap(node, where, out);
  if (!m) return undefined;
  onlyKeys(m, ['name', 'nodeSelector', 'percent', 'bake', 'mode', 'auditNamespaces'], where, out);
  const name = str(m, 'name', where, out) ?? `wave-${i + 1}`;
  const selNode = entryOf(m, 'nodeSelector')?.value;
  const pctNode = entryOf(m, 'percent')?.value;
  let select: WaveSpec['select'] | undefined;
  if (selNode && pctNode) {
    out.push(errorAt(CODE, `${where} has both nodeSelector and percent; give one`, m.pos));
  } else if (selNode) {
    const sel = asMap(selNode, `${where}.nodeSelector`, out);
    if (sel) {
      onlyKeys(sel, ['matchLabels'], `${where}.nodeSelector`, out);
      const ml = entryOf(sel, 'matchLabels')?.value;
      const labels = ml ? asMap(ml, `${where}.nodeSelector.matchLabels`, out) : undefined;
      const matchLabels: Record<string, string> = {};
      for (const e of labels?.entries ?? []) {
        if (e.value.kind !== 'scalar' || e.value.value === null || typeof e.value.value === 'object') out.push(errorAt(CODE, `label '${e.key}' needs a string value`, e.value.pos));
        else matchLabels[e.key] = String(e.value.value);
      }
      select = { kind: 'labels', matchLabels };
    }
  } else if (pctNode) {
    const p = num(pctNode, `${where}.percent`, out);
    if (p !== undefined && (p <= 0 || p > 100)) out.push(errorAt(CODE, `${where}.percent must be above 0 and at most 100`, pctNode.pos));
    else if (p !== undefined) select = { kind: 'percent', percent: p };
  } else {
    out.push(errorAt(CODE, `${where} needs nodeSelector or percent`, m.pos));
  }
  const bakeMs = duration(m, 'bake', where, out) ?? 30_000;
  const modeNode = entryOf(m, 'mode')?.value;
  let mode: EnforcementMode = 'enforce';
  if (modeNode) {
    const v = modeNode.kind === 'scalar' ? modeNode.value : undefined;
    if (v === 'enforce' || v === 'audit') mode = v;
    else out.push(errorAt(CODE, `${where}.mode must be enforce or audit`, modeNode.pos));
  }
  const nsNode = entryOf(m, 'auditNamespaces')?.value;
  let auditNamespaces: string[] | undefined;
  if (nsNode) {
    const names = nsNode.kind === 'seq' ? nsNode.items.map((n) => (n.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined)) : undefined;
    const scope = names && names.every((n) => n !== undefined) ? parseAuditScope({ kind: 'namespaces', namespaces: names }) : undefined;
    if (scope?.kind !== 'namespaces' || scope.namespaces.length === 0) out.push(errorAt(CODE, `${where}.auditNamespaces must list 1 to ${MAX_AUDIT_NAMESPACES} namespace names`, nsNode.pos));
    else if (mode !== 'audit') out.push(errorAt(CODE, `${where}.auditNamespaces needs mode: audit`, nsNode.pos));
    else auditNamespaces = [...scope.namespaces];
  }
  return select ? { name, select, bakeMs, mode, ...(auditNamespaces ? { auditNamespaces } : {}) } : undefined;
}

function parseGates(node: YNode, out: Diagnostic[]): GatesSpec | undefined {
  const m = asMap(node, 'rollout.gates', out);
  if (!m) return undefined;
  onlyKeys(m, ['reportTimeout', 'maxDrops', 'metrics'], 'rollout.gates', out);
  const reportTimeoutMs = duration(m, 'reportTimeout', 'rollout.gates', out) ?? DEFAULT_ROLLOUT_SPEC.gates.reportTimeoutMs;
  let maxDrops: GatesSpec['maxDrops'];
  const md = entryOf(m, 'maxDrops')?.value;
  if (md) {
    const dm = asMap(md, 'rollout.gates.maxDrops', out);
    if (dm) {
      onlyKeys(dm, ['absolute', 'perPredicted'], 'rollout.gates.maxDrops', out);
      const abs = entryOf(dm, 'absolute')?.value;
      const per = entryOf(dm, 'perPredicted')?.value;
      const absolute = abs ? nonNegative(abs, 'rollout.gates.maxDrops.absolute', out) : undefined;
      const perPredicted = per ? nonNegative(per, 'rollout.gates.maxDrops.perPredicted', out) : undefined;
      if (!abs && !per) out.push(errorAt(CODE, 'rollout.gates.maxDrops needs absolute, perPredicted or both', dm.pos));
      maxDrops = { ...(absolute === undefined ? {} : { absolute }), ...(perPredicted === undefined ? {} : { perPredicted }) };
    }
  }
  const metricsNode = entryOf(m, 'metrics')?.value;
  const metrics: MetricGateSpec[] = [];
  if (metricsNode && metricsNode.kind !== 'seq') out.push(errorAt(CODE, 'rollout.gates.metrics must be a list', metricsNode.pos));
  const list = items(metricsNode);
  if (list.length > MAX_GATES) out.push(errorAt(CODE, `rollout.gates.metrics lists ${list.length} gates; at most ${MAX_GATES}`, metricsNode!.pos));
  list.slice(0, MAX_GATES).forEach((g, i) => {
    const gate = parseMetric(g, i, out);
    if (gate && metrics.some((x) => x.name === gate.name)) out.push(errorAt(CODE, `metric gate name '${gate.name}' is used twice`, g.pos));
    if (gate) metrics.push(gate);
  });
  return { reportTimeoutMs, ...(maxDrops ? { maxDrops } : {}), metrics };
}

function parseMetric(node: YNode, i: number, out: Diagnostic[]): MetricGateSpec | undefined {
  const where = `rollout.gates.metrics[${i}]`;
  const m = asMap(node, where, out);
  if (!m) return undefined;
  onlyKeys(m, ['name', 'query', 'successCondition', 'interval', 'count', 'failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit'], where, out);
  const name = str(m, 'name', where, out);
  const query = str(m, 'query', where, out);
  if (!name) out.push(errorAt(CODE, `${where} needs a name`, m.pos));
  if (!query) out.push(errorAt(CODE, `${where} needs a query (PromQL)`, m.pos));
  const condNode = entryOf(m, 'successCondition')?.value;
  let successCondition: MetricCondition | undefined;
  if (!condNode) out.push(errorAt(CODE, `${where} needs a successCondition, e.g. "< 5"`, m.pos));
  else successCondition = parseCondition(condNode, `${where}.successCondition`, out);
  const whole = (key: string, dflt: number, min: number): number => {
    const n = entryOf(m, key)?.value;
    if (!n) return dflt;
    const v = num(n, `${where}.${key}`, out);
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > 10_000)) {
      out.push(errorAt(CODE, `${where}.${key} must be a whole number from ${min} to 10000`, n.pos));
      return dflt;
    }
    return v ?? dflt;
  };
  const gate = {
    intervalMs: duration(m, 'interval', where, out) ?? 30_000,
    count: whole('count', 1, 1),
    failureLimit: whole('failureLimit', 0, 0),
    inconclusiveLimit: whole('inconclusiveLimit', 0, 0),
    consecutiveErrorLimit: whole('consecutiveErrorLimit', 4, 0),
  };
  return name && query && successCondition ? { name, query, successCondition, ...gate } : undefined;
}

const CONDITION = /^\s*(<=|>=|==|!=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

function parseCondition(node: YNode, where: string, out: Diagnostic[]): MetricCondition | undefined {
  const m = node.kind === 'scalar' && typeof node.value === 'string' ? CONDITION.exec(node.value) : null;
  if (!m) {
    out.push(errorAt(CODE, `${where} must be a comparison with a number, e.g. "< 5" or ">= 0.99"`, node.pos));
    return undefined;
  }
  return { op: m[1] as MetricCondition['op'], threshold: Number(m[2]) };
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Milliseconds of a duration text (`500ms`, `30s`, `2m`, `1h`, `1m30s`).
 * @returns undefined for anything else, or a duration over a week.
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === '' || m.slice(1).every((x) => x === undefined)) return undefined;
  const [h, min, s, ms] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number];
  const total = ((h * 60 + min) * 60 + s) * 1000 + ms;
  return total <= MAX_DURATION_MS ? total : undefined;
}

function duration(m: YMap, key: string, where: string, out: Diagnostic[]): number | undefined {
  const n = entryOf(m, key)?.value;
  if (!n) return undefined;
  const v = n.kind === 'scalar' && typeof n.value === 'string' ? parseDuration(n.value) : undefined;
  if (v === undefined) out.push(errorAt(CODE, `${where}.${key} must be a duration like 30s, 2m or 1h (at most 7 days)`, n.pos));
  return v;
}

function asMap(node: YNode, where: string, out: Diagnostic[]): YMap | undefined {
  if (node.kind === 'map') return node;
  out.push(errorAt(CODE, `${where} must be a mapping`, node.pos));
  return undefined;
}

function onlyKeys(m: YMap, allowed: readonly string[], where: string, out: Diagnostic[]): void {
  for (const e of m.entries) if (!allowed.includes(e.key)) out.push(errorAt(CODE, `unknown field ${where}.${e.key} (allowed: ${allowed.join(', ')})`, e.keyPos));
}

function str(m: YMap, key: string, where: string, out: Diagnostic[]): string | undefined {
  const n = entryOf(m, key)?.value;
  if (!n) return undefined;
  if (n.kind === 'scalar' && typeof n.value === 'string' && n.value.length > 0 && n.value.length <= 4096) return n.value;
  out.push(errorAt(CODE, `${where}.${key} must be a non-empty string`, n.pos));
  return undefined;
}

function num(node: YNode, where: string, out: Diagnostic[]): number | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'number' && Number.isFinite(node.value)) return node.value;
  out.push(errorAt(CODE, `${where} must be a number`, node.pos));
  return undefined;
}

function nonNegative(node: YNode, where: string, out: Diagnostic[]): number | undefined {
  const v = num(node, where, out);
  if (v !== undefined && v < 0) {
    out.push(errorAt(CODE, `${where} must not be negative`, node.pos));
    return undefined;
  }
  return v;
}

