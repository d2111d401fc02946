/**
 * The `--format jsonl` contract: one line per input flow, in input order,
 * `{"index","verdict","drop_reason","dropped_at","allowed_by","denied_by"}` plus `"l7":"proxy"` when an L7 rule
 * governs the flow. Rule refs are `{"kind","namespace","name","rule","file","line"}`. Keys are always in this order.
 */
import type { RuleRef, Verdict } from '../core/flow/types.js';

// Engines hand out the same RuleRef objects (and often the same lists) again and again: print each once.
const refText = new WeakMap<RuleRef, string>();
const listText = new WeakMap<readonly RuleRef[], string>();

function refJson(r: RuleRef): string {
  let text = refText.get(r);
  if (text === undefined) {
    text = refJsonUncached(r);
    refText.set(r, text);
  }
  return text;
}

function refJsonUncached(r: RuleRef): string {
  return `{"kind":${JSON.stringify(r.kind)},"namespace":${JSON.stringify(r.namespace)},"name":${JSON.stringify(r.name)},"rule":${JSON.stringify(r.rule)},"file":${JSON.stringify(r.file)},"line":${r.line}}`;
}

function refsJson(refs: readonly RuleRef[]): string {
  if (refs.length === 0) return '[]';
  if (!Object.isFrozen(refs)) return `[${refs.map(refJson).join(',')}]`;
  let text = listText.get(refs);
  if (text === undefined) {
    text = `[${refs.map(refJson).join(',')}]`;
    listText.set(refs, text);
  }
  return text;
}

/**
 * Everything after the index, cached per (allowed_by list, denied_by list, outcome): verdicts repeat a lot. Only
 * frozen lists are cached: engines freeze the lists they share between verdicts; a fresh list per verdict would only
 * fill the cache.
 */
const suffixes = new WeakMap<readonly RuleRef[], WeakMap<readonly RuleRef[], Map<string, string>>>();

function buildSuffix(v: Verdict): string {
  const l7 = v.l7 === 'proxy' ? ',"l7":"proxy"' : '';
  return `,"verdict":"${v.verdict}","drop_reason":${v.drop_reason === null ? 'null' : `"${v.drop_reason}"`},"dropped_at":${
    v.dropped_at === null ? 'null' : `"${v.dropped_at}"`
  },"allowed_by":${refsJson(v.allowed_by)},"denied_by":${refsJson(v.denied_by)}${l7}}\n`;
}

function suffixOf(v: Verdict): string {
  if (!Object.isFrozen(v.allowed_by) || !Object.isFrozen(v.denied_by)) return buildSuffix(v);
  let byDenied = suffixes.get(v.allowed_by);
  if (byDenied === undefined) {
    byDenied = new WeakMap();
    suffixes.set(v.allowed_by, byDenied);
  }
  let byOutcome = byDenied.get(v.denied_by);
  if (byOutcome === undefined) {
    byOutcome = new Map();
    byDenied.set(v.denied_by, byOutcome);
  }
  const outcome = `${v.verdict}|${v.drop_reason}|${v.dropped_at}|${v.l7}`;
  let suffix = byOutcome.get(outcome);
  if (suffix === undefined) {
    suffix = buildSuffix(v);
    byOutcome.set(outcome, suffix);
  }
  return suffix;
}

/** One jsonl line (with its trailing newline). */
export function verdictJsonLine(v: Verdict): string {
  return `{"index":${v.index}${suffixOf(v)}`;
}
