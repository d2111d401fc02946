/**
 * The `--format jsonl` contract: one line per input flow, in input order,
 * `{"index","verdict","drop_reason","dropped_at","allowed_by","denied_by"}` plus `"l7":"proxy"` when an L7 rule
 * governs the flow. Rule refs are `{"kind","namespace","name","rule","file","line"}`. Keys are always in this order.
 */
import type { RuleRef, Verdict } from '../core/flow/types.js';
import { TextSink } from './text-sink.js';

// Engines hand out the same RuleRef objects again and again: print each once (a RuleRef lives as long as its model).
const refText = new WeakMap<RuleRef, string>();

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

// Lists are joined from the cached ref texts; whole lines are cached below, per pair of lists.
function refsJson(refs: readonly RuleRef[]): string {
  if (refs.length === 0) return '[]';
  if (refs.length === 1) return `[${refJson(refs[0]!)}]`;
  return `[${refs.map(refJson).join(',')}]`;
}

/**
 * Everything after the index, cached per (allowed_by list, denied_by list, outcome): verdicts repeat a lot. Only
 * frozen lists are cached: engines freeze the lists they share between verdicts; a fresh list per verdict would only
 * fill the cache. Lists of at most one rule belong to the rules (as many as the model has): weakly keyed, kept.
 * Longer lists are merged per pair of rules and can be as many as the flows: a bounded cache with strong keys that
 * starts over after MAX_MERGED_SUFFIXES texts (a weak map would keep each pair's text until a full collection).
 */
interface ListKeyed<V> {
  get(list: readonly RuleRef[]): V | undefined;
  set(list: readonly RuleRef[], value: V): unknown;
}
/** allowed_by → denied_by → outcome code → suffix. */
type SuffixCache = ListKeyed<ListKeyed<(Suffix | undefined)[]>>;
const ruleSuffixes: SuffixCache = new WeakMap();
const MAX_MERGED_SUFFIXES = 8192;
let mergedSuffixes: SuffixCache = new Map();
let mergedCount = 0;

/** A line's text after the index, and its UTF-8 bytes (written by copying, no encoder call per line). */
interface Suffix {
  readonly text: string;
  readonly bytes: Buffer;
}

/** The outcome fields as a small number (no string built per flow): verdict × drop_reason × dropped_at × l7. */
function outcomeCode(v: Verdict): number {
  const reason = v.drop_reason === null ? 0 : v.drop_reason === 'POLICY_DENIED' ? 1 : 2;
  const at = v.dropped_at === null ? 0 : v.dropped_at === 'egress' ? 1 : 2;
  return (((v.verdict === 'FORWARDED' ? 0 : 1) * 3 + reason) * 3 + at) * 2 + (v.l7 === 'proxy' ? 1 : 0);
}

function buildSuffix(v: Verdict): string {
  const l7 = v.l7 === 'proxy' ? ',"l7":"proxy"' : '';
  return `,"verdict":"${v.verdict}","drop_reason":${v.drop_reason === null ? 'null' : `"${v.drop_reason}"`},"dropped_at":${
    v.dropped_at === null ? 'null' : `"${v.dropped_at}"`
  },"allowed_by":${refsJson(v.allowed_by)},"denied_by":${refsJson(v.denied_by)}${l7}}\n`;
}

function suffixOf(v: Verdict): Suffix | string {
  if (!Object.isFrozen(v.allowed_by) || !Object.isFrozen(v.denied_by)) return buildSuffix(v);
  let cache = ruleSuffixes;
  if (v.allowed_by.length > 1 || v.denied_by.length > 1) {
    if (mergedCount >= MAX_MERGED_SUFFIXES) {
      mergedSuffixes = new Map();
      mergedCount = 0;
    }
    cache = mergedSuffixes;
  }
  let byDenied = cache.get(v.allowed_by);
  if (byDenied === undefined) {
    byDenied = cache === ruleSuffixes ? new WeakMap() : new Map();
    cache.set(v.allowed_by, byDenied);
  }
  let byOutcome = byDenied.get(v.denied_by);
  if (byOutcome === undefined) {
    byOutcome = [];
    byDenied.set(v.denied_by, byOutcome);
  }
  const outcome = outcomeCode(v);
  let suffix = byOutcome[outcome];
  if (suffix === undefined) {
    const text = buildSuffix(v);
    suffix = { text, bytes: Buffer.from(text, 'utf8') };
    byOutcome[outcome] = suffix;
    if (cache === mergedSuffixes) mergedCount++;
  }
  return suffix;
}

const INDEX_PREFIX = Buffer.from('{"index":', 'latin1');
/** The prefix plus the longest index (a safe integer has at most 16 digits). */
const PREFIX_ROOM = INDEX_PREFIX.length + 16;

/** One jsonl line (with its trailing newline). */
export function verdictJsonLine(v: Verdict): string {
  const suffix = suffixOf(v);
  return `{"index":${v.index}${typeof suffix === 'string' ? suffix : suffix.text}`;
}

/**
 * Writes one jsonl line to `sink`: the same bytes as `verdictJsonLine`, copied from cached UTF-8 where the verdict's
 * rule lists are shared (the usual case) instead of built and encoded per flow.
 * @returns a promise when the sink waits for the destination to drain
 */
export function writeVerdictJsonl(sink: TextSink, v: Verdict): Promise<void> | undefined {
  const suffix = suffixOf(v);
  if (typeof suffix === 'string' || suffix.bytes.length + PREFIX_ROOM > TextSink.CHUNK_BYTES) {
    return sink.write(`{"index":${v.index}${typeof suffix === 'string' ? suffix : suffix.text}`);
  }
  // One back-pressure point per line; the writes below then fit without flushing.
  const pending = sink.reserve(PREFIX_ROOM + suffix.bytes.length);
  sink.writeBytes(INDEX_PREFIX);
  sink.writeDecimal(v.index);
  sink.writeBytes(suffix.bytes);
  return pending;
}
