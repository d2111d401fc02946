/**
 * The fastest load path: a line scanner for the plain block YAML that policy files are almost always written in
 * (block maps with plain keys, block sequences, one-line plain and quoted scalars, one-line flow sequences and
 * maps of scalars, comments, `---` separators). It reads the text once, without yaml's lexer, parser or CST, and
 * builds located values directly. Anything outside that subset — tabs, CR, anchors, tags, block scalars, escapes,
 * multi-line scalars, nested flow collections, explicit keys, empty documents, templates, odd indentation,
 * duplicate keys, the depth and document limits — answers undefined and the file goes the general way (CST fast
 * path, then the composer), which decides and reports precisely. When it answers, the result is identical to the
 * composer's; a test compares them over the corpus, the template, generated policies and random YAML-like text.
 * The value limit is the exception: the values counted so far are values on every path, so past it the scanner
 * reports `yaml-too-large` itself, where it stands, instead of handing a huge file to the slower paths.
 */
import type { SourcePos } from '../errors.js';
import type { LoadLimits } from './limits.js';
import type { ParsedFile } from './parse-yaml.js';
import { addUniqueEntry, resolvePlain } from './cst-convert.js';
import { tooManyValues } from './value-bound.js';
import type { YEntry, YNode } from './ynode.js';

/** Thrown (and caught in scanPolicyText) when the text leaves the supported subset. */
class Unsupported {}
const UNSUPPORTED = new Unsupported();

/** Thrown (and caught in scanPolicyText) at the first value past the file's value limit. */
class TooManyValues {
  constructor(readonly pos: SourcePos) {}
}

/** Characters that may not start a plain scalar we accept (YAML indicators, quotes handled separately). */
const BAD_PLAIN_START = new Set([...'?:,[]{}#&*!|>%@`\'"']);
/** A plain mapping key we accept: no spaces, no indicators, not ending in `:`; resolves like any plain scalar. */
const PLAIN_KEY = /^[A-Za-z0-9_./][A-Za-z0-9_./:-]*$/;
/** A plain item inside a one-line flow sequence. */
const FLOW_PLAIN = /^[A-Za-z0-9_./+~][A-Za-z0-9_./+=~-]*$/;
/** Control characters other than newline (tab is excluded separately), C1 controls and Unicode line separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/;
/** Implicit keys longer than this are a YAML error; leave them to the general path. */
const MAX_KEY_LENGTH = 1000;

interface Line {
  /** Indentation (spaces) = column of the first content character, 0-based. */
  readonly indent: number;
  /** Line text without the trailing newline. */
  readonly text: string;
}

class Scanner {
  private i = 0;
  constructor(
    private readonly lines: readonly Line[],
    private readonly lineNo: readonly number[],
    private readonly file: string,
    private readonly limits: LoadLimits,
    /** Values produced so far in the whole file (the limit is per file, as on the other paths). */
    private readonly budget: { nodes: number },
  ) {}

  private pos(lineIdx: number, col: number): SourcePos {
    return { file: this.file, line: this.lineNo[lineIdx]!, col: col + 1 };
  }

  /** Index of the next content line, or -1 at the end of the document. */
  private peek(): number {
    return this.i < this.lines.length ? this.i : -1;
  }

  /**
   * The next line of the block collection at `indent` whose items are (or are not) `- ` items, or -1 where the
   * collection ends. A line indented deeper than the collection here is a continuation or an error: declined.
   */
  private nextItem(indent: number, seqItems: boolean): number {
    const li = this.peek();
    if (li === -1) return -1;
    const l = this.lines[li]!;
    if (l.indent < indent) return -1;
    if (l.indent > indent) throw UNSUPPORTED;
    return isSeqItem(l.text, indent) === seqItems ? li : -1;
  }

  /** Counts one value starting at (lineIdx, col). */
  private count(depth: number, lineIdx: number, col: number): void {
    if (depth > this.limits.maxDepth) throw UNSUPPORTED;
    if (++this.budget.nodes > this.limits.maxNodesPerFile) throw new TooManyValues(this.pos(lineIdx, col));
  }

  /** The document: one block collection, nothing after it. */
  document(): YNode {
    const first = this.lines[0]!;
    const root = this.block(first.indent, 1);
    if (this.i !== this.lines.length) throw UNSUPPORTED;
    return root;
  }

  /** A block map or sequence whose first line (the current one) starts at column `indent`. */
  private block(indent: number, depth: number): YNode {
    const l = this.lines[this.i]!;
    if (isSeqItem(l.text, indent)) return this.seq(indent, this.i, indent, depth);
    return this.map(indent, this.i, indent, depth);
  }

  /** Block sequence at `indent`; its first `-` is at (lineIdx, col) where col may be past the line's indentation. */
  private seq(indent: number, lineIdx: number, col: number, depth: number): YNode {
    this.count(depth, lineIdx, col);
    const items: YNode[] = [];
    const pos = this.pos(lineIdx, col);
    for (let li = lineIdx, c = col; li !== -1; li = this.nextItem(indent, true), c = indent) {
      const text = this.lines[li]!.text;
      this.i = li + 1;
      // After `-`: spaces, then inline content or nothing (the value is the following more-indented block).
      let k = c + 1;
      while (k < text.length && text.charCodeAt(k) === 32) k++;
      if (k >= text.length || isCommentAt(text, k)) {
        items.push(this.nested(indent, false, depth + 1, li, c + 1));
      } else {
        if (text.charCodeAt(k) === 45 /* - */ && (k + 1 === text.length || text.charCodeAt(k + 1) === 32)) throw UNSUPPORTED;
        if (findKeyEnd(text, k) !== -1) items.push(this.map(k, li, k, depth + 1));
        else items.push(this.inline(li, k, depth + 1));
      }
    }
    return { kind: 'seq', items, pos };
  }

  /** Block map whose entries start at column `indent`; the first key is at (lineIdx, col). */
  private map(indent: number, lineIdx: number, col: number, depth: number): YNode {
    this.count(depth, lineIdx, col);
    const entries: YEntry[] = [];
    const pos = this.pos(lineIdx, col);
    for (let li = lineIdx, c = col; li !== -1; li = this.nextItem(indent, false), c = indent) {
      const text = this.lines[li]!.text;
      this.i = li + 1;
      const colon = findKeyEnd(text, c);
      if (colon === -1) throw UNSUPPORTED;
      const keyText = text.slice(c, colon);
      if (keyText.length > MAX_KEY_LENGTH || !PLAIN_KEY.test(keyText)) throw UNSUPPORTED;
      const keyValue = resolvePlain(keyText);
      if (keyValue === null) throw UNSUPPORTED;
      const key = String(keyValue);
      const keyPos = this.pos(li, c);
      let k = colon + 1;
      while (k < text.length && text.charCodeAt(k) === 32) k++;
      let value: YNode;
      if (k >= text.length || isCommentAt(text, k)) {
        value = this.nested(indent, true, depth + 1, li, colon + 1);
      } else {
        const ch = text.charCodeAt(k);
        // `a: - x` and `a: b: c` are errors the general path reports.
        if (ch === 45 && (k + 1 === text.length || text.charCodeAt(k + 1) === 32)) throw UNSUPPORTED;
        if (findKeyEnd(text, k) !== -1) throw UNSUPPORTED;
        value = this.inline(li, k, depth + 1);
      }
      if (!addUniqueEntry(entries, { key, keyPos, value })) throw UNSUPPORTED;
    }
    return { kind: 'map', entries, pos };
  }

  /**
   * The value of a `key:` or `-` with nothing after it on its line: the following block when it is more indented
   * (or, for a map value, a sequence at the same indentation), else null just after the indicator.
   */
  private nested(indent: number, inMap: boolean, depth: number, li: number, nullCol: number): YNode {
    const next = this.peek();
    if (next !== -1) {
      const l = this.lines[next]!;
      if (l.indent > indent) return this.block(l.indent, depth);
      if (inMap && l.indent === indent && isSeqItem(l.text, indent)) return this.seq(indent, next, indent, depth);
    }
    // With spaces or a comment after the indicator, where the null sits depends on the parser's tokens: leave it.
    if (this.lines[li]!.text.length !== nullCol) throw UNSUPPORTED;
    this.count(depth, li, nullCol);
    return { kind: 'scalar', value: null, quoted: false, pos: this.pos(li, nullCol) };
  }

  /** A one-line value starting at column k: quoted, plain, `[...]` or `{}`; nothing but a comment may follow. */
  private inline(li: number, k: number, depth: number): YNode {
    this.count(depth, li, k);
    const text = this.lines[li]!.text;
    const ch = text[k]!;
    if (ch === '"' || ch === "'") {
      const [value, end] = quoted(text, k);
      expectLineEnd(text, end);
      return { kind: 'scalar', value, quoted: true, pos: this.pos(li, k) };
    }
    if (ch === '[') return this.flowSeq(li, k, depth);
    if (ch === '{') return this.flowMap(li, k, depth);
    // `:` and `?` start a plain scalar only when a non-space follows (`::/0`); otherwise they are indicators.
    if (BAD_PLAIN_START.has(ch) && !((ch === ':' || ch === '?') && k + 1 < text.length && text.charCodeAt(k + 1) !== 32)) throw UNSUPPORTED;
    let end = text.indexOf(' #', k);
    if (end === -1) end = text.length;
    while (end > k && text.charCodeAt(end - 1) === 32) end--;
    const s = text.slice(k, end);
    if (s.endsWith(':')) throw UNSUPPORTED;
    return { kind: 'scalar', value: resolvePlain(s), quoted: false, pos: this.pos(li, k) };
  }

  /** `[a, "b", 'c']` on one line, plain or quoted scalars only. */
  private flowSeq(li: number, k: number, depth: number): YNode {
    const items: YNode[] = [];
    const pos = this.pos(li, k);
    this.flowItems(li, k, ']', () => {
      this.count(depth + 1, li, this.j);
      items.push(this.flowScalar(li));
    });
    return { kind: 'seq', items, pos };
  }

  /** `{a: 1, b: "x"}` on one line: plain keys, plain or quoted scalar values. */
  private flowMap(li: number, k: number, depth: number): YNode {
    const text = this.lines[li]!.text;
    const entries: YEntry[] = [];
    const pos = this.pos(li, k);
    this.flowItems(li, k, '}', () => {
      let end = this.j;
      while (end < text.length && text[end] !== ':' && text[end] !== ',' && text[end] !== '}' && text[end] !== ' ') end++;
      const keyText = text.slice(this.j, end);
      if (text[end] !== ':' || text[end + 1] !== ' ' || !PLAIN_KEY.test(keyText)) throw UNSUPPORTED;
      const keyValue = resolvePlain(keyText);
      if (keyValue === null) throw UNSUPPORTED;
      const keyPos = this.pos(li, this.j);
      this.j = end + 1;
      while (this.j < text.length && text.charCodeAt(this.j) === 32) this.j++;
      this.count(depth + 1, li, this.j);
      const value = this.flowScalar(li);
      if (!addUniqueEntry(entries, { key: String(keyValue), keyPos, value })) throw UNSUPPORTED;
    });
    return { kind: 'map', entries, pos };
  }

  /** Cursor inside a one-line flow collection. */
  private j = 0;

  /**
   * Walks a one-line flow collection opening at k and closing with `close`: calls `item` with the cursor on each
   * item's first character (the item must advance it past itself), checks the commas, and that only a comment
   * follows the closing bracket. Empty items, trailing commas and anything unexpected are declined.
   */
  private flowItems(li: number, k: number, close: string, item: () => void): void {
    const text = this.lines[li]!.text;
    const skip = (): void => {
      while (this.j < text.length && text.charCodeAt(this.j) === 32) this.j++;
    };
    this.j = k + 1;
    skip();
    if (text[this.j] === close) {
      expectLineEnd(text, this.j + 1);
      return;
    }
    for (;;) {
      skip();
      if (this.j >= text.length || text[this.j] === ',' || text[this.j] === close) throw UNSUPPORTED;
      item();
      skip();
      if (text[this.j] === ',') {
        this.j++;
        continue;
      }
      if (text[this.j] === close) {
        expectLineEnd(text, this.j + 1);
        return;
      }
      throw UNSUPPORTED;
    }
  }

  /** A plain or quoted scalar inside a flow collection, at the cursor; advances the cursor past it. */
  private flowScalar(li: number): YNode {
    const text = this.lines[li]!.text;
    const at = this.j;
    const ch = text[at];
    if (ch === '"' || ch === "'") {
      const [value, end] = quoted(text, at);
      this.j = end;
      return { kind: 'scalar', value, quoted: true, pos: this.pos(li, at) };
    }
    let end = at;
    while (end < text.length && text[end] !== ',' && text[end] !== ']' && text[end] !== '}' && text[end] !== ' ') end++;
    const s = text.slice(at, end);
    if (!FLOW_PLAIN.test(s)) throw UNSUPPORTED;
    this.j = end;
    return { kind: 'scalar', value: resolvePlain(s), quoted: false, pos: this.pos(li, at) };
  }
}

/** True when the line has a block sequence item (`-` then space or end of line) at column `indent`. */
function isSeqItem(text: string, indent: number): boolean {
  return text.charCodeAt(indent) === 45 && (indent + 1 === text.length || text.charCodeAt(indent + 1) === 32);
}

function isCommentAt(text: string, k: number): boolean {
  return text.charCodeAt(k) === 35; // '#', always preceded by a space here
}

/**
 * Column of the `:` that ends a plain implicit key starting at k (`:` followed by space or end of line, before any
 * comment), or -1 when the content is not `key: ...`.
 */
function findKeyEnd(text: string, k: number): number {
  const ch = text[k];
  // A quoted or flow value is read by `inline`, which rejects anything after it but a comment (so `"a": 1` goes
  // the general way).
  if (ch === '"' || ch === "'" || ch === '[' || ch === '{') return -1;
  for (let j = k; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 58 /* : */ && (j + 1 === text.length || text.charCodeAt(j + 1) === 32)) return j;
    if (c === 35 /* # */ && j > k && text.charCodeAt(j - 1) === 32) return -1;
  }
  return -1;
}

/** A one-line quoted scalar at k (no escapes): [value, index after the closing quote]. */
function quoted(text: string, k: number): [string, number] {
  const q = text[k]!;
  if (q === '"') {
    const close = text.indexOf('"', k + 1);
    if (close === -1) throw UNSUPPORTED;
    const s = text.slice(k + 1, close);
    if (s.includes('\\')) throw UNSUPPORTED;
    return [s, close + 1];
  }
  let out = '';
  let j = k + 1;
  for (;;) {
    const close = text.indexOf("'", j);
    if (close === -1) throw UNSUPPORTED;
    out += text.slice(j, close);
    if (text[close + 1] === "'") {
      out += "'";
      j = close + 2;
      continue;
    }
    return [out, close + 1];
  }
}

/** Only spaces, then optionally a ` #` comment, may follow a value. */
function expectLineEnd(text: string, j: number): void {
  let k = j;
  while (k < text.length && text.charCodeAt(k) === 32) k++;
  if (k === text.length) return;
  if (text.charCodeAt(k) === 35 && k > j) return;
  throw UNSUPPORTED;
}

/**
 * Scans a whole file. Returns its documents (every one non-empty, none failed) without diagnostics; or, as soon as
 * the values counted pass `limits.maxNodesPerFile`, no documents and one `yaml-too-large` error at the first value
 * past it; or undefined when any part of the file before that is outside the supported subset. Never throws.
 */
export function scanPolicyText(path: string, text: string, limits: LoadLimits): ParsedFile | undefined {
  // Cheap whole-file exclusions: tabs and CR (indentation and line-break subtleties), BOM, templates, anchors and
  // aliases are all left to the general path.
  if (text.includes('\t') || text.includes('\r') || text.includes('\uFEFF') || text.includes('{{') || CONTROL.test(text)) return undefined;
  const documents: ParsedFile['documents'] = [];
  const budget = { nodes: 0 };
  let lines: Line[] = [];
  let lineNos: number[] = [];
  let sawMarker = false;
  const flush = (): boolean => {
    if (lines.length === 0) return !sawMarker; // an empty document after `---`: general path
    if (documents.length >= limits.maxDocumentsPerFile) return false;
    const root = new Scanner(lines, lineNos, path, limits, budget).document();
    documents.push({ file: path, index: documents.length, root, pos: root.pos, failed: false });
    lines = [];
    lineNos = [];
    return true;
  };
  try {
    let start = 0;
    let lineNo = 1;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const t = text.slice(start, end);
      if (t.startsWith('---') || t.startsWith('...') || t.startsWith('%')) {
        if (t !== '---') return undefined;
        if (!flush()) return undefined;
        sawMarker = true;
      } else {
        let indent = 0;
        while (indent < t.length && t.charCodeAt(indent) === 32) indent++;
        // Blank and comment-only lines carry nothing outside block scalars (which we do not accept).
        if (indent < t.length && t.charCodeAt(indent) !== 35) {
          lines.push({ indent, text: t });
          lineNos.push(lineNo);
        }
      }
      if (end === text.length) break;
      start = end + 1;
      lineNo++;
    }
    if (!flush()) return undefined;
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    if (err instanceof TooManyValues) return { documents: [], diagnostics: [tooManyValues(limits, err.pos)] };
    throw err;
  }
  return { documents, diagnostics: [] };
}
