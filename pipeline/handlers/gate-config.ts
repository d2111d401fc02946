/**
 * The pull-request gate of a policy repository, from `palisade.yaml` at the repository root: where the policies and
 * recorded flows are, and what a newly blocked or newly allowed connection does to the check (fail, warn, allow),
 * with a budget of tolerated flows and overrides by pull-request label or by changed path. Policy errors always fail.
 * Parsing is pure and bounded; every problem is a positioned diagnostic, like a policy's.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { errorAt, filePos, sortDiagnostics, type Diagnostic } from '../core/validate/diagnostic.js';
import type { SourcePos } from '../core/errors.js';

/** What a kind of change does to the check: `fail` (failure), `warn` (neutral, annotated), `allow` (success). */
export type GateAction = 'fail' | 'warn' | 'allow';
const ACTIONS: readonly GateAction[] = ['fail', 'warn', 'allow'];

/** The actions for each kind of change. */
export interface GateActions {
  readonly newlyBlocked: GateAction;
  readonly newlyAllowed: GateAction;
}

/** An override: when it matches, its actions replace the defaults (later overrides win over earlier ones). */
export interface GateOverride extends Partial<GateActions> {
  /** Matches when the pull request carries this label. */
  readonly label?: string;
  /** Matches when every changed file matches this glob (`*` within a path segment, `**` across segments). */
  readonly path?: string;
  readonly pos: SourcePos;
}

/** The whole gate configuration. */
export interface GateConfig {
  /** Policy directory relative to the repository root. */
  readonly policies: string;
  /** Recorded flow files relative to the repository root, read at the base commit. */
  readonly flows: readonly string[];
  readonly inventory: readonly string[];
  readonly actions: GateActions;
  /** Newly blocked flows tolerated before `newlyBlocked` applies (0: none). */
  readonly budget: { readonly newlyBlockedFlows: number };
  readonly overrides: readonly GateOverride[];
}

/** The file name, at the repository root. */
export const GATE_CONFIG_FILE = 'palisade.yaml';

/** Safe defaults: a newly blocked recorded flow fails the check; newly allowed ones are shown, not gated. */
export const DEFAULT_GATE_CONFIG: GateConfig = {
  policies: 'policies',
  flows: [],
  inventory: [],
  actions: { newlyBlocked: 'fail', newlyAllowed: 'allow' },
  budget: { newlyBlockedFlows: 0 },
  overrides: [],
};

/** Top-level sections of palisade.yaml that other stages own; accepted here, not read. */
export const OTHER_SECTIONS: readonly string[] = ['rollout'];

/** Largest palisade.yaml read. */
export const MAX_GATE_CONFIG_BYTES = 1024 * 1024;
const MAX_OVERRIDES = 100;
const MAX_LIST = 100;
const MAX_STRING = 512;

/** The result of parsing: the configuration (defaults where absent) when there are no errors. */
export type GateConfigParse = { readonly ok: true; readonly config: GateConfig } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Parses palisade.yaml text. Unknown keys, wrong types, unknown actions, bad globs and out-of-range numbers are
 * errors at their line and column.
 * @param file the name used in positions (`palisade.yaml`).
 */
export function parseGateConfig(text: string, file: string = GATE_CONFIG_FILE): GateConfigParse {
  if (Buffer.byteLength(text, 'utf8') > MAX_GATE_CONFIG_BYTES) {
    return { ok: false, diagnostics: [errorAt('gate-config-too-large', `larger than ${MAX_GATE_CONFIG_BYTES} bytes`, filePos(file))] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const at = (node: Node | null | undefined, offset?: number): SourcePos => {
    const o = offset ?? node?.range?.[0] ?? 0;
    const p = lines.linePos(o);
    return { file, line: p.line, col: p.col };
  };
  const bad = (node: Node | null | undefined, message: string, code = 'gate-config-invalid'): void => {
    diagnostics.push(errorAt(code, message, at(node)));
  };
  for (const e of doc.errors) diagnostics.push(errorAt('gate-config-yaml', e.message.split('\n')[0]!, at(null, e.pos[0])));
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { ok: true, config: DEFAULT_GATE_CONFIG };
  if (!isMap(root)) return { ok: false, diagnostics: [errorAt('gate-config-invalid', 'palisade.yaml must be a mapping', at(root))] };

  const str = (node: unknown, what: string): string | undefined => {
    if (isScalar(node) && typeof node.value === 'string' && node.value.length > 0 && node.value.length <= MAX_STRING) return node.value;
    bad(node as Node, `${what} must be a non-empty string of at most ${MAX_STRING} characters`);
    return undefined;
  };
  const relPath = (node: unknown, what: string): string | undefined => {
    const s = str(node, what);
    if (s === undefined) return undefined;
    // Paths are inside the repository: no absolute paths, no way out with `..`.
    if (s.startsWith('/') || s.split('/').includes('..') || s.includes('\\') || s.includes('\0')) {
      bad(node as Node, `${what} must be a path inside the repository, without '..'`);
      return undefined;
    }
    return s.replace(/\/+$/, '') || '.';
  };
  const pathList = (node: unknown, what: string): string[] => {
    const items = isSeq(node) ? node.items : [node];
    if (items.length > MAX_LIST) bad(node as Node, `${what} lists more than ${MAX_LIST} entries`);
    return items.slice(0, MAX_LIST).flatMap((i) => relPath(i, what) ?? []);
  };
  const action = (node: unknown, what: string): GateAction | undefined => {
    if (isScalar(node) && (ACTIONS as readonly unknown[]).includes(node.value)) return node.value as GateAction;
    bad(node as Node, `${what} must be one of ${ACTIONS.join(', ')}`);
    return undefined;
  };
  const entries = (map: YAMLMap, allowed: readonly string[], where: string): Map<string, unknown> => {
    const out = new Map<string, unknown>();
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(key)) {
        bad(pair.key as Node, `unknown key '${key}' in ${where} (known: ${allowed.join(', ')})`, 'gate-config-unknown-key');
        continue;
      }
      out.set(key, pair.value);
    }
    return out;
  };

  // `rollout:` belongs to the rollout controller (pipeline/rollout), which reads and validates it itself.
  const top = entries(root, ['policies', 'flows', 'inventory', 'gate', ...OTHER_SECTIONS], 'palisade.yaml');
  let config: GateConfig = DEFAULT_GATE_CONFIG;
  if (top.has('policies')) config = { ...config, policies: relPath(top.get('policies'), 'policies') ?? config.policies };
  if (top.has('flows')) config = { ...config, flows: pathList(top.get('flows'), 'flows') };
  if (top.has('inventory')) config = { ...config, inventory: pathList(top.get('inventory'), 'inventory') };
  const gateNode = top.get('gate');
  if (gateNode !== undefined && gateNode !== null) {
    if (!isMap(gateNode)) bad(gateNode as Node, 'gate must be a mapping');
    else {
      const gate = entries(gateNode, ['newlyBlocked', 'newlyAllowed', 'budget', 'overrides'], 'gate');
      const actions = { ...config.actions };
      if (gate.has('newlyBlocked')) actions.newlyBlocked = action(gate.get('newlyBlocked'), 'gate.newlyBlocked') ?? actions.newlyBlocked;
      if (gate.has('newlyAllowed')) actions.newlyAllowed = action(gate.get('newlyAllowed'), 'gate.newlyAllowed') ?? actions.newlyAllowed;
      let budget = config.budget;
      const budgetNode = gate.get('budget');
      if (budgetNode !== undefined) {
        if (!isMap(budgetNode)) bad(budgetNode as Node, 'gate.budget must be a mapping');
        else {
          const b = entries(budgetNode, ['newlyBlockedFlows'], 'gate.budget');
          const n = b.get('newlyBlockedFlows');
          if (n !== undefined) {
            if (isScalar(n) && typeof n.value === 'number' && Number.isSafeInteger(n.value) && n.value >= 0) budget = { newlyBlockedFlows: n.value };
            else bad(n as Node, 'gate.budget.newlyBlockedFlows must be a whole number, 0 or more');
          }
        }
      }
      const overrides: GateOverride[] = [];
      const list = gate.get('overrides');
      if (list !== undefined) {
        if (!isSeq(list)) bad(list as Node, 'gate.overrides must be a list');
        else {
          if (list.items.length > MAX_OVERRIDES) bad(list, `gate.overrides has more than ${MAX_OVERRIDES} entries`);
          for (const item of list.items.slice(0, MAX_OVERRIDES)) {
            if (!isMap(item)) {
              bad(item as Node, 'each override must be a mapping with label or path');
              continue;
            }
            const o = entries(item, ['label', 'path', 'newlyBlocked', 'newlyAllowed'], 'an override');
            const label = o.has('label') ? str(o.get('label'), 'override label') : undefined;
            const glob = o.has('path') ? relPath(o.get('path'), 'override path') : undefined;
            if ((label === undefined) === (glob === undefined)) {
              if (!o.has('label') && !o.has('path') || o.has('label') && o.has('path')) bad(item, 'an override needs exactly one of label or path');
              continue;
            }
            const nb = o.has('newlyBlocked') ? action(o.get('newlyBlocked'), 'override newlyBlocked') : undefined;
            const na = o.has('newlyAllowed') ? action(o.get('newlyAllowed'), 'override newlyAllowed') : undefined;
            if (nb === undefined && na === undefined && !o.has('newlyBlocked') && !o.has('newlyAllowed')) bad(item, 'an override must set newlyBlocked or newlyAllowed');
            overrides.push({
              ...(label !== undefined ? { label } : {}),
              ...(glob !== undefined ? { path: glob } : {}),
              ...(nb ? { newlyBlocked: nb } : {}),
              ...(na ? { newlyAllowed: na } : {}),
              pos: at(item),
            });
          }
        }
      }
      config = { ...config, actions, budget, overrides };
    }
  }
  return diagnostics.length > 0 ? { ok: false, diagnostics: sortDiagnostics(diagnostics) } : { ok: true, config };
}

/**
 * A path glob as a matcher: `*` is any run of characters within one segment, `**` any run across segments (`a/**`
 * matches everything under `a/`), `?` one character; everything else is literal.
 */
export function globMatcher(glob: string): (path: string) => boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') i++;
      re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re}$`, 's');
  return (path) => compiled.test(path);
}
