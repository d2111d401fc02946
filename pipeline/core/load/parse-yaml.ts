/**
 * YAML (and JSON, a subset of it) → located documents. Parsing is bounded: nesting depth is checked on the concrete
 * syntax tree before composing (the composer recurses), alias dereferences and the total number of produced values
 * are capped (alias bombs), and every YAML error carries its line and column.
 */
import { Composer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { SourcePos } from '../errors.js';
import { errorAt, warningAt, type Diagnostic } from '../validate/diagnostic.js';
import type { LoadLimits } from './limits.js';
import type { PolicyFile } from './policy-file.js';
import { checkRawText, offsetToPos } from './text-checks.js';
import type { YEntry, YNode } from './ynode.js';
import { FALLBACK, addUniqueEntry, convertDocumentToken, type CstContext } from './cst-convert.js';
import { scanPolicyText } from './line-scan.js';
import { mayHoldTooManyValues, tooManyValues, valueLimitOffset } from './value-bound.js';

/** One YAML document of a file. `root` is null for an empty document or one that had errors. */
export interface ParsedDocument {
  readonly file: string;
  /** 0-based index of the document in its file. */
  readonly index: number;
  readonly root: YNode | null;
  readonly pos: SourcePos;
  /** True when this document produced at least one error (it must not be used). */
  readonly failed: boolean;
}

export interface ParsedFile {
  readonly documents: ParsedDocument[];
  readonly diagnostics: Diagnostic[];
}

/** Go template actions (`{{ .Values.x }}`, `{{- if ... }}`): the file must be rendered before it is a policy. */
const TEMPLATE = /\{\{[\s\S]*\}\}/;

function templateError(pos: SourcePos): Diagnostic {
  return errorAt('yaml-template', 'unrendered Go template `{{ ... }}`: render the file (helm template, cilium-cli...) before validating it', pos);
}

const MAX_YAML_ERRORS_PER_DOCUMENT = 20;

/** Collections larger than this are composed without yaml's own (quadratic) duplicate-key check. */
const WIDE_MAP = 2_000;

/** Thrown inside the converter when a bound is exceeded; caught per document. */
class LimitExceeded extends Error {
  constructor(
    readonly diagnostic: Diagnostic,
  ) {
    super(diagnostic.message);
  }
}

type CstToken = { type?: string; offset?: number; items?: unknown[]; value?: unknown; key?: unknown };

/** CST tokens that compose into one value each (`null-value` stands for the null of an entry without a value). */
const VALUE_TOKENS = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar', 'alias', 'block-map', 'block-seq', 'flow-collection', 'null-value']);

/** What the walk over the concrete syntax tree found past a limit: the first place, by kind. */
type ShapeProblem = { readonly kind: 'too-deep' | 'too-large'; readonly offset: number };

/**
 * Walks a CST token tree iteratively (no recursion, so hostile depth cannot overflow the stack), before anything is
 * composed from it. Finds the first collection deeper than `maxDepth`, and counts the values outside keys (one per
 * collection, scalar and alias, plus the null of a map entry without a value: a lower bound on what composing
 * counts, exact without aliases) into `shape.values`, stopping at the first one past `maxValues`. Also raises
 * `shape.widest` to the largest item count of any collection seen.
 */
function checkShape(root: unknown, limits: LoadLimits, shape: { widest: number; values: number }): ShapeProblem | undefined {
  const toks: unknown[] = [root];
  const depths: number[] = [0];
  // 1 for a token inside a mapping key (not a value of its own).
  const inKey: number[] = [0];
  while (toks.length > 0) {
    const tok = toks.pop();
    const depth = depths.pop()!;
    const key = inKey.pop()!;
    if (!tok || typeof tok !== 'object') continue;
    const t = tok as CstToken;
    if (t.type === 'document') {
      if (t.value) {
        toks.push(t.value);
        depths.push(depth);
        inKey.push(0);
      }
      continue;
    }
    if (key === 0 && VALUE_TOKENS.has(t.type!) && ++shape.values > limits.maxNodesPerFile) return { kind: 'too-large', offset: t.offset ?? 0 };
    if (!Array.isArray(t.items)) continue;
    const d = depth + 1;
    if (d > limits.maxDepth) return { kind: 'too-deep', offset: t.offset ?? 0 };
    if (t.items.length > shape.widest) shape.widest = t.items.length;
    // Pushed in reverse so that values are counted in document order (the position reported is the first past the
    // limit, as on the other paths).
    for (let i = t.items.length - 1; i >= 0; i--) {
      const it = t.items[i] as CstToken & { start?: CstToken[]; sep?: CstToken[] };
      const indicator = it.value ? undefined : (it.sep ?? it.start)?.find((x) => x.type === 'map-value-ind' || x.type === 'seq-item-ind');
      if (it.value || indicator) {
        toks.push(it.value ?? { type: 'null-value', offset: indicator!.offset });
        depths.push(d);
        inKey.push(key);
      }
      if (it.key) {
        toks.push(it.key);
        depths.push(d);
        inKey.push(1);
      }
    }
  }
  return undefined;
}

/** Which load paths parsePolicyText may use (tests compare them; callers use the default, all of them). */
export interface ParseOptions {
  /** Compose yaml Documents only: no line scanner, no CST fast path. */
  readonly composeOnly?: boolean;
  /** Skip the line scanner (the CST fast path and the composer remain). */
  readonly skipScan?: boolean;
}

/**
 * Parses one file into documents with positions. Three paths give identical results: the line scanner for plain
 * block YAML, the CST fast path, and composing yaml Documents (everything else, and every error).
 * Never throws: every problem (size, binary, syntax, depth, aliases) becomes a diagnostic with a position.
 */
export function parsePolicyText(file: PolicyFile, limits: LoadLimits, options: ParseOptions = {}): ParsedFile {
  const diagnostics: Diagnostic[] = [];
  const raw = checkRawText(file.path, file.text, limits.maxFileBytes);
  if (raw) return { documents: [], diagnostics: [raw] };
  if (!options.composeOnly && !options.skipScan) {
    const scanned = scanPolicyText(file.path, file.text, limits);
    if (scanned) return scanned;
  }
  if (mayHoldTooManyValues(file.text, limits)) {
    // Before yaml builds a syntax tree of millions of values only to have them counted.
    const past = valueLimitOffset(file.text, limits);
    if (past !== -1) return { documents: [], diagnostics: [tooManyValues(limits, offsetToPos(file.path, file.text, past))] };
  }

  const lineCounter = new LineCounter();
  // Binary search over the line starts the parser recorded (LineCounter.linePos, without its temporary object).
  const starts = lineCounter.lineStarts;
  const path = file.path;
  const at = (offset: number): SourcePos => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return { file: path, line: lo, col: offset - (starts[lo - 1] ?? 0) + 1 };
  };

  let tokens;
  try {
    tokens = Array.from(new Parser(lineCounter.addNewLine).parse(file.text));
  } catch (err) {
    // The parser is iterative and total; this is a last line of defence, not an expected path.
    return { documents: [], diagnostics: [errorAt('yaml-syntax', `YAML parser failed: ${(err as Error).message}`, offsetToPos(file.path, file.text, 0))] };
  }
  const docTokens = tokens.filter((t) => t.type === 'document');
  if (docTokens.length > limits.maxDocumentsPerFile) {
    return {
      documents: [],
      diagnostics: [errorAt('yaml-too-many-documents', `file has ${docTokens.length} YAML documents, more than the limit of ${limits.maxDocumentsPerFile}`, at(0))],
    };
  }
  const shape = { widest: 0, values: 0 };
  for (const tok of tokens) {
    const problem = checkShape(tok, limits, shape);
    if (problem?.kind === 'too-deep') {
      return { documents: [], diagnostics: [errorAt('yaml-too-deep', `nesting is deeper than the limit of ${limits.maxDepth} levels`, at(problem.offset))] };
    }
    if (problem?.kind === 'too-large') return { documents: [], diagnostics: [tooManyValues(limits, at(problem.offset))] };
  }

  const fast = options.composeOnly ? undefined : convertFast(tokens, file.path, at, limits);
  if (fast) return fast;

  let docs: Document.Parsed[];
  try {
    // yaml checks duplicate keys with a linear scan per key: quadratic on a hostile map of a million keys. Past
    // WIDE_MAP items the converter checks them instead (with a set; same code and position, its own message).
    docs = Array.from(new Composer({ uniqueKeys: shape.widest <= WIDE_MAP, strict: true }).compose(tokens));
  } catch (err) {
    return { documents: [], diagnostics: [errorAt('yaml-syntax', `YAML could not be read: ${(err as Error).message}`, at(0))] };
  }

  const budget = { nodes: 0, aliases: 0 };
  const documents: ParsedDocument[] = [];
  docs.forEach((doc, index) => {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const pos = at(start);
    const docErrors: Diagnostic[] = [];
    // After the first few errors the rest are mostly consequences (a JSON-lines file read as YAML gives one per
    // line): report a bounded number and say how many were left out.
    for (const e of doc.errors.slice(0, MAX_YAML_ERRORS_PER_DOCUMENT)) docErrors.push(errorAt(yamlCode(e.code), cleanMessage(e.message), at(e.pos[0])));
    if (doc.errors.length > MAX_YAML_ERRORS_PER_DOCUMENT) {
      const next = doc.errors[MAX_YAML_ERRORS_PER_DOCUMENT]!;
      docErrors.push(errorAt('yaml-syntax', `${doc.errors.length - MAX_YAML_ERRORS_PER_DOCUMENT} more YAML errors in this document not shown`, at(next.pos[0])));
    }
    for (const w of doc.warnings.slice(0, MAX_YAML_ERRORS_PER_DOCUMENT)) diagnostics.push(warningAt('yaml-warning', cleanMessage(w.message), at(w.pos[0])));
    let root: YNode | null = null;
    if (docErrors.length === 0 && doc.contents) {
      try {
        root = convert(doc.contents, doc, 1, at, limits, budget);
        // An empty document and a document holding only `~` are both "no object".
        if (root.kind === 'scalar' && root.value === null) root = null;
      } catch (err) {
        if (!(err instanceof LimitExceeded)) throw err;
        docErrors.push(err.diagnostic);
        root = null;
      }
    }
    for (const d of docErrors) diagnostics.push(d);
    documents.push({ file: file.path, index, root, pos, failed: docErrors.length > 0 });
  });
  return { documents, diagnostics };
}

/** True when `file` loads through the CST fast path (exposed for the test that compares both paths). */
export function fastPathApplies(file: PolicyFile, limits: LoadLimits): boolean {
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(file.text));
  return convertFast(tokens, file.path, () => ({ file: file.path, line: 0, col: 0 }), limits) !== undefined;
}

/**
 * The fast path over the whole file: every document converted straight from the CST; or, past the value limit, no
 * documents and the `yaml-too-large` error at the first value past it; or undefined when any part needs the
 * composer (which then handles the whole file and reports errors precisely).
 */
function convertFast(tokens: readonly unknown[], path: string, at: (offset: number) => SourcePos, limits: LoadLimits): ParsedFile | undefined {
  const ctx: CstContext = { at, maxDepth: limits.maxDepth, maxNodes: limits.maxNodesPerFile, nodes: 0, rejectString: (s) => TEMPLATE.test(s) };
  const documents: ParsedDocument[] = [];
  for (const t of tokens as Array<{ type: string; offset: number; value?: { offset: number } }>) {
    if (t.type === 'document') {
      const root = convertDocumentToken(t as never, ctx);
      if (ctx.tooManyValuesAt !== undefined) return { documents: [], diagnostics: [tooManyValues(limits, ctx.tooManyValuesAt)] };
      if (root === FALLBACK) return undefined;
      // An empty document sits just after its `---`, where the composer places it too.
      const marker = (t as { start?: Array<{ type: string; offset: number; source: string }> }).start?.find((x) => x.type === 'doc-start');
      const offset = t.value?.offset ?? (marker ? marker.offset + marker.source.length : t.offset);
      documents.push({ file: path, index: documents.length, root, pos: at(offset), failed: false });
    } else if (t.type !== 'comment' && t.type !== 'space' && t.type !== 'newline' && t.type !== 'byte-order-mark' && t.type !== 'doc-end') {
      return undefined;
    }
  }
  return { documents, diagnostics: [] };
}

/** Maps the yaml library's error codes onto ours: all YAML problems share the `yaml-` prefix. */
function yamlCode(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'yaml-duplicate-key';
    case 'BAD_ALIAS':
    case 'ALIAS_PROPS':
      return 'yaml-alias';
    default:
      return 'yaml-syntax';
  }
}

/** The yaml library's messages sometimes carry a trailing source excerpt; keep one line. */
function cleanMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function convert(
  node: Node | null,
  doc: Document.Parsed,
  depth: number,
  at: (offset: number) => SourcePos,
  limits: LoadLimits,
  budget: { nodes: number; aliases: number },
  fallbackOffset = 0,
): YNode {
  if (++budget.nodes > limits.maxNodesPerFile) throw new LimitExceeded(tooManyValues(limits, at(node?.range?.[0] ?? fallbackOffset)));
  if (depth > limits.maxDepth) {
    throw new LimitExceeded(errorAt('yaml-too-deep', `nesting is deeper than the limit of ${limits.maxDepth} levels`, at(node?.range?.[0] ?? fallbackOffset)));
  }
  if (node === null) return { kind: 'scalar', value: null, quoted: false, pos: at(fallbackOffset) };
  const start = node.range?.[0] ?? fallbackOffset;
  if (isAlias(node)) {
    const pos = at(start);
    if (++budget.aliases > limits.maxAliasCount) {
      throw new LimitExceeded(errorAt('yaml-alias-limit', `more than ${limits.maxAliasCount} alias references in one file`, pos));
    }
    const target = node.resolve(doc);
    if (!target) throw new LimitExceeded(errorAt('yaml-alias', `unknown alias *${node.source}`, pos));
    // The expanded value reports the alias' own position: that is where the user wrote it.
    const value = convert(target, doc, depth + 1, at, limits, budget);
    return relocate(value, pos);
  }
  const pos = at(start);
  if (isScalar(node)) {
    const v = node.value;
    let value: string | number | boolean | null;
    if (v === null || v === undefined) value = null;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') value = v;
    else if (typeof v === 'bigint') value = Number(v);
    else value = String(v);
    if (typeof value === 'string' && TEMPLATE.test(value)) throw new LimitExceeded(templateError(pos));
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' || node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
    return { kind: 'scalar', value, quoted, pos };
  }
  if (isSeq(node)) {
    const items: YNode[] = [];
    for (const item of node.items) {
      if (isPair(item)) {
        // `[a: 1]` — a flow-sequence pair is a one-entry map in YAML.
        throw new LimitExceeded(errorAt('yaml-syntax', 'a key: value pair inside a flow sequence is not supported here', at((item.key as Node | null)?.range?.[0] ?? start)));
      }
      items.push(convert(item as Node | null, doc, depth + 1, at, limits, budget, start));
    }
    return { kind: 'seq', items, pos };
  }
  if (isMap(node)) {
    const entries: YEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const keyOffset = keyNode?.range?.[0] ?? start;
      let key: string;
      if (keyNode !== null && isScalar(keyNode) && keyNode.value !== null && typeof keyNode.value !== 'object') {
        key = String(keyNode.value);
        if (TEMPLATE.test(key)) throw new LimitExceeded(templateError(at(keyOffset)));
      } else if (keyNode !== null && isAlias(keyNode)) {
        throw new LimitExceeded(errorAt('yaml-complex-key', 'an alias cannot be used as a mapping key here', at(keyOffset)));
      } else {
        // Go-templated YAML (`{{ .Name }}`) parses as a flow mapping used as a key: name it.
        throw new LimitExceeded(
          errorAt('yaml-complex-key', 'mapping key is not a plain string (unrendered template `{{ ... }}`?)', at(keyOffset)),
        );
      }
      const keyPos = at(keyOffset);
      const valueOffset = (pair.value as Node | null)?.range?.[0] ?? keyNode?.range?.[1] ?? keyOffset;
      const value = convert(pair.value as Node | null, doc, depth + 1, at, limits, budget, valueOffset);
      if (!addUniqueEntry(entries, { key, keyPos, value })) {
        throw new LimitExceeded(errorAt('yaml-duplicate-key', `duplicate key '${key}'`, keyPos));
      }
    }
    return { kind: 'map', entries, pos };
  }
  throw new LimitExceeded(errorAt('yaml-syntax', 'unsupported YAML node', pos));
}

/** The same value with its top-level position moved (alias expansion). */
function relocate(node: YNode, pos: SourcePos): YNode {
  return { ...node, pos } as YNode;
}
