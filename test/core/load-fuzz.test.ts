/**
 * Fuzz: the policy loader on mutated real policies (the template's and the Cilium corpus'). Every outcome is a model
 * or diagnostics, each with a position inside the file; never an uncaught exception. Mutations: YAML-significant
 * characters put in, bytes flipped, cut and inserted, lines repeated, dropped and re-indented, documents joined; run
 * under default and tight limits (so the value, depth, alias and document bounds trip on every path). The three load
 * paths must agree on whether the file has errors. Saved seeds, so failures reproduce; a failing seed found later is
 * added.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicyText, resolveLoadLimits, type LoadLimits } from '../../pipeline/core/load/index.js';
import { loadPolicyModel } from '../../pipeline/core/policy/index.js';
import { CORPUS_CILIUM, REPO_ROOT, corpusAvailable, listFiles } from '../corpus/corpus-dir.js';

function policies(): string[] {
  const out: string[] = [];
  const template = path.join(REPO_ROOT, 'policy-repo-template', 'policies');
  for (const f of listFiles(template)) out.push(readFileSync(path.join(template, f), 'utf8'));
  // A spread of the corpus, small files first so that runs stay quick.
  if (corpusAvailable()) {
    const corpus = listFiles(CORPUS_CILIUM).map((f) => readFileSync(path.join(CORPUS_CILIUM, f), 'utf8')).filter((t) => t.length < 6000);
    out.push(...corpus.filter((_, i) => i % 3 === 0));
  }
  return out;
}

const TEXTS = policies();
const SIGNIFICANT = [':', '-', ' ', '\n', '[', ']', '{', '}', ',', '&a', '*a', '!', '|', '>', '"', "'", '#', '\t', '%', '@', '`', '? ', '---\n', '...\n', '{{', '\\', '\r', '\u00a0', '\ufeff', '\0', '\u2028', '<<: *a\n'];

type Edit =
  | { kind: 'put'; at: number; text: string }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'line'; at: number; op: 'repeat' | 'drop' | 'indent' | 'outdent' };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), at: fc.nat(), text: fc.constantFrom(...SIGNIFICANT) }) },
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('line' as const), at: fc.nat(), op: fc.constantFrom('repeat' as const, 'drop' as const, 'indent' as const, 'outdent' as const) }) },
);

function mutate(text: string, edits: readonly Edit[]): string {
  let t = text;
  for (const e of edits) {
    const at = t.length === 0 ? 0 : e.at % t.length;
    if (e.kind === 'put') t = t.slice(0, at) + e.text + t.slice(at);
    else if (e.kind === 'cut') t = t.slice(0, at) + t.slice(at + e.length);
    else if (e.kind === 'flip' || e.kind === 'insert') {
      // Bytes, decoded again as the file reader would (invalid UTF-8 becomes U+FFFD).
      let bytes = Buffer.from(t, 'utf8');
      const b = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'flip' && bytes.length > 0) bytes[b] = bytes[b]! ^ (1 << e.bit);
      if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, b), e.bytes, bytes.subarray(b)]);
      t = bytes.toString('utf8');
    } else {
      const lines = t.split('\n');
      const i = e.at % lines.length;
      if (e.op === 'repeat') lines.splice(i, 0, lines[i]!);
      else if (e.op === 'drop') lines.splice(i, 1);
      else if (e.op === 'indent') lines[i] = `  ${lines[i]}`;
      else lines[i] = lines[i]!.replace(/^ {1,2}/, '');
      t = lines.join('\n');
    }
  }
  return t;
}

const LIMITS: Record<string, Partial<LoadLimits>> = {
  default: {},
  tight: { maxNodesPerFile: 40, maxDepth: 6, maxAliasCount: 1, maxDocumentsPerFile: 2, maxFileBytes: 4096 },
};

// Saved seeds: each reproduces a run.
const SEEDS = [20261202, 1, 6];

describe('policy loader under mutation', () => {
  it('has policies to mutate', () => expect(TEXTS.length).toBeGreaterThan(10));

  for (const seed of SEEDS) {
    it(`gives a model or positioned diagnostics, seed ${seed}`, () => {
      fc.assert(
        fc.property(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 6 }), fc.constantFrom(...Object.keys(LIMITS)), fc.boolean(), (pick, edits, limitName, join) => {
          let text = mutate(TEXTS[pick % TEXTS.length]!, edits);
          if (join) text = `${text}\n---\n${TEXTS[(pick + 1) % TEXTS.length]}`;
          const file = { path: 'policies/p.yaml', text };
          const limits = LIMITS[limitName]!;
          const lineCount = text.split('\n').length;
          const result = loadPolicyModel([file], { limits });
          expect(result.model).toBeDefined();
          for (const d of result.diagnostics) {
            expect(d.code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
            expect(d.message).not.toBe('');
            expect(d.pos, `${d.code}: ${d.message}`).toBeDefined();
            expect(d.pos!.file).toBe(file.path);
            expect(d.pos!.line).toBeGreaterThanOrEqual(1);
            expect(d.pos!.line).toBeLessThanOrEqual(lineCount + 1);
            expect(d.pos!.col).toBeGreaterThanOrEqual(1);
          }
          // The load paths agree on whether the file is broken.
          const resolved = resolveLoadLimits(limits);
          const failed = (options: Parameters<typeof parsePolicyText>[2]) =>
            parsePolicyText(file, resolved, options).diagnostics.some((d) => d.severity === 'error');
          const composed = failed({ composeOnly: true });
          expect(failed({}), text).toBe(composed);
          expect(failed({ skipScan: true }), text).toBe(composed);
        }),
        { seed, numRuns: 500, endOnFailure: true },
      );
    });
  }
});
