/**
 * Fast path: the parser's concrete syntax tree → located values, without composing yaml's Document model (which
 * allocates a node, a pair and a range per value and dominated the load time). It handles the plain shapes policy
 * files use — block and flow maps and sequences of plain, quoted and block scalars — and answers FALLBACK for
 * anything else (anchors, aliases, tags, explicit keys, error tokens, compact nested maps, multi-line keys...), in
 * which case the caller composes the document the general way. Both paths give identical results; a test compares
 * them over the whole corpus.
 */
import { CST } from 'yaml';
import type { SourcePos } from '../errors.js';
import type { ScalarValue, YEntry, YNode } from './ynode.js';

/** Returned when a token is outside the fast path's shapes. */
export const FALLBACK = Symbol('fallback');

type Token = {
  type: string;
  offset: number;
  /** Indentation of the line the token is on (block collections: of their items). */
  indent?: number;
  source?: string;
  start?: Token[] | Token;
  items?: Item[];
  end?: Token[];
  props?: Token[];
  value?: Token;
};
type Item = { start: Token[]; key?: Token | null; sep?: Token[]; value?: Token };

const TRIVIA = new Set(['space', 'newline', 'comment']);

/** YAML 1.2 core schema resolution of a plain scalar, as the yaml library does it. */
export function resolvePlain(s: string): ScalarValue {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  const c = s.charCodeAt(0);
  // Only strings starting with a digit, sign or dot can be numbers.
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return s;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/**
 * True when `tokens` hold only spaces, newlines, comments and the `allowed` indicator. A space with a tab does not
 * count: where a tab may stand (not as indentation) depends on rules the composer checks and reports.
 */
function onlyTrivia(tokens: readonly Token[] | undefined, allowed?: string): boolean {
  if (!tokens) return true;
  for (const t of tokens) {
    if (!TRIVIA.has(t.type) && t.type !== allowed) return false;
    if (t.type === 'space' && t.source !== undefined && t.source.includes('\t')) return false;
  }
  return true;
}

function hasNewline(tokens: readonly Token[] | undefined): boolean {
  return !!tokens && tokens.some((t) => t.type === 'newline');
}

export interface CstContext {
  readonly at: (offset: number) => SourcePos;
  readonly maxDepth: number;
  readonly maxNodes: number;
  nodes: number;
  /**
   * Set, with conversion answering FALLBACK from then on, at the first value past `maxNodes`: the values counted so
   * far are values on every path, so the caller reports the limit here rather than composing the file.
   */
  tooManyValuesAt?: SourcePos;
  /** Checks a string value (templates); returns true when the document must go the general way. */
  readonly rejectString: (s: string) => boolean;
}

function scalar(tok: Token, ctx: CstContext): YNode | typeof FALLBACK {
  if (!onlyTrivia(tok.end)) return FALLBACK;
  let failed = false;
  const r = CST.resolveAsScalar(tok as never, true, () => {
    failed = true;
  });
  if (failed || !r) return FALLBACK;
  const plain = tok.type === 'scalar';
  // A multi-line plain or quoted scalar is legal but rare; let the composer judge its folding and indentation.
  if (tok.source !== undefined && tok.source.includes('\n') && tok.type !== 'block-scalar') return FALLBACK;
  const value = plain ? resolvePlain(r.value) : r.value;
  if (typeof value === 'string' && ctx.rejectString(value)) return FALLBACK;
  return { kind: 'scalar', value, quoted: !plain, pos: ctx.at(tok.offset) };
}

/** Converts one value token; FALLBACK when the document needs the general path. */
export function convertToken(tok: Token | undefined, depth: number, ctx: CstContext, fallbackOffset: number): YNode | typeof FALLBACK {
  if (depth > ctx.maxDepth) return FALLBACK;
  if (++ctx.nodes > ctx.maxNodes) {
    ctx.tooManyValuesAt ??= ctx.at(tok?.offset ?? fallbackOffset);
    return FALLBACK;
  }
  if (tok === undefined) return { kind: 'scalar', value: null, quoted: false, pos: ctx.at(fallbackOffset) };
  switch (tok.type) {
    case 'scalar':
    case 'single-quoted-scalar':
    case 'double-quoted-scalar':
      return scalar(tok, ctx);
    case 'block-scalar':
      if (tok.props && !onlyTrivia(tok.props, 'block-scalar-header')) return FALLBACK;
      return scalar(tok, ctx);
    case 'block-map':
      return blockMap(tok, depth, ctx);
    case 'block-seq': {
      const items: YNode[] = [];
      for (const it of tok.items ?? []) {
        if (it.key !== undefined || it.sep !== undefined || !onlyTrivia(it.start, 'seq-item-ind')) return FALLBACK;
        const ind = it.start.find((t) => t.type === 'seq-item-ind');
        if (!ind) return FALLBACK;
        const v = convertToken(it.value, depth + 1, ctx, ind.offset + 1);
        if (v === FALLBACK) return FALLBACK;
        items.push(v);
      }
      return { kind: 'seq', items, pos: ctx.at(tok.offset) };
    }
    case 'flow-collection':
      return flowCollection(tok, depth, ctx);
    default:
      return FALLBACK;
  }
}

function mapKey(key: Token | null | undefined, ctx: CstContext): { key: string; keyPos: SourcePos } | typeof FALLBACK {
  if (!key || (key.type !== 'scalar' && key.type !== 'single-quoted-scalar' && key.type !== 'double-quoted-scalar')) return FALLBACK;
  const k = scalar(key, ctx);
  if (k === FALLBACK || k.kind !== 'scalar' || k.value === null) return FALLBACK;
  return { key: String(k.value), keyPos: k.pos };
}

/** Key sets of large maps being built, so that a hostile map of a million keys is not checked in quadratic time. */
const keySets = new WeakMap<YEntry[], Set<string>>();
/** Past this many entries a map's duplicate check uses a Set; below it a scan is cheaper. */
const SCAN_KEYS = 16;

/**
 * Appends `entry` unless `entries` already has its key; returns false (nothing appended) for a duplicate.
 * Linear scan for small maps, a Set beyond SCAN_KEYS entries.
 */
export function addUniqueEntry(entries: YEntry[], entry: YEntry): boolean {
  if (entries.length < SCAN_KEYS) {
    for (const e of entries) if (e.key === entry.key) return false;
  } else {
    let keys = keySets.get(entries);
    if (!keys) {
      keys = new Set(entries.map((e) => e.key));
      keySets.set(entries, keys);
    }
    if (keys.has(entry.key)) return false;
    keys.add(entry.key);
  }
  entries.push(entry);
  return true;
}

function addEntry(entries: YEntry[], key: string, keyPos: SourcePos, value: YNode): boolean {
  return addUniqueEntry(entries, { key, keyPos, value });
}

function blockMap(tok: Token, depth: number, ctx: CstContext): YNode | typeof FALLBACK {
  const entries: YEntry[] = [];
  for (const it of tok.items ?? []) {
    if (!onlyTrivia(it.start) || !it.sep || !onlyTrivia(it.sep, 'map-value-ind')) return FALLBACK;
    const ind = it.sep.find((t) => t.type === 'map-value-ind');
    if (!ind) return FALLBACK;
    // A key indented unlike the map's first (the parser still files it under the map) is an error the composer
    // reports ("All mapping items must start at the same column").
    if (it.key && it.key.indent !== undefined && it.key.indent !== tok.indent) return FALLBACK;
    // `a: b: c` and `a: - x` are errors the composer reports; leave them to it.
    if (it.value && (it.value.type === 'block-map' || it.value.type === 'block-seq') && !hasNewline(it.sep)) return FALLBACK;
    const k = mapKey(it.key, ctx);
    if (k === FALLBACK) return FALLBACK;
    const v = convertToken(it.value, depth + 1, ctx, ind.offset + 1);
    if (v === FALLBACK || !addEntry(entries, k.key, k.keyPos, v)) return FALLBACK;
  }
  return { kind: 'map', entries, pos: ctx.at(tok.offset) };
}

function flowCollection(tok: Token, depth: number, ctx: CstContext): YNode | typeof FALLBACK {
  const start = tok.start as Token | undefined;
  if (!start || !onlyTrivia(tok.end, start.source === '{' ? 'flow-map-end' : 'flow-seq-end')) return FALLBACK;
  const closing = (tok.end ?? []).find((t) => t.type === 'flow-map-end' || t.type === 'flow-seq-end');
  if (!closing || (start.source === '{') !== (closing.type === 'flow-map-end')) return FALLBACK;
  if (start.source === '[') {
    const items: YNode[] = [];
    for (const it of tok.items ?? []) {
      if (it.key !== undefined || it.sep !== undefined || !onlyTrivia(it.start, 'comma') || !it.value) return FALLBACK;
      const v = convertToken(it.value, depth + 1, ctx, it.value.offset);
      if (v === FALLBACK) return FALLBACK;
      items.push(v);
    }
    return { kind: 'seq', items, pos: ctx.at(tok.offset) };
  }
  if (start.source !== '{') return FALLBACK;
  const entries: YEntry[] = [];
  for (const it of tok.items ?? []) {
    if (!onlyTrivia(it.start, 'comma') || !it.sep || !onlyTrivia(it.sep, 'map-value-ind')) return FALLBACK;
    const ind = it.sep.find((t) => t.type === 'map-value-ind');
    if (!ind || hasNewline(it.sep)) return FALLBACK;
    const k = mapKey(it.key, ctx);
    if (k === FALLBACK) return FALLBACK;
    const v = convertToken(it.value, depth + 1, ctx, ind.offset + 1);
    if (v === FALLBACK || !addEntry(entries, k.key, k.keyPos, v)) return FALLBACK;
  }
  return { kind: 'map', entries, pos: ctx.at(tok.offset) };
}

/**
 * Converts one `document` CST token. Returns the root (null for an empty document) or FALLBACK. Never reports
 * errors itself: anything doubtful goes to the composer, which reports it precisely.
 */
export function convertDocumentToken(doc: Token, ctx: CstContext): YNode | null | typeof FALLBACK {
  if (doc.type !== 'document') return FALLBACK;
  if (!onlyTrivia(doc.start as Token[] | undefined, 'doc-start') || !onlyTrivia(doc.end, 'doc-end')) return FALLBACK;
  if (doc.value === undefined) return null;
  const root = convertToken(doc.value, 1, ctx, doc.offset);
  return root !== FALLBACK && root.kind === 'scalar' && root.value === null ? null : root;
}
