/**
 * Reading policy files from disk: recursion, extensions, order, display paths, limits, symlink loops, unreadable
 * and special files.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPolicyFiles } from '../../pipeline/sources/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'palisade-sources-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = path.join(dir, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

describe('readPolicyFiles', () => {
  it('reads .yaml/.yml/.json recursively in sorted order, skipping other files and hidden trees', async () => {
    const root = tree('basic', { 'b.yaml': 'b', 'a/z.yml': 'z', 'a/c.json': '{}', 'notes.txt': 'x', '.git/x.yaml': 'hidden', 'A.YAML': 'upper' });
    const r = await readPolicyFiles(root, { displayBase: root });
    expect(r.diagnostics).toEqual([]);
    expect(r.files.map((f) => f.path)).toEqual(['A.YAML', 'a/c.json', 'a/z.yml', 'b.yaml']);
    expect(r.files.find((f) => f.path === 'b.yaml')!.text).toBe('b');
  });

  it('prints paths relative to the base when under it, absolute otherwise', async () => {
    const root = tree('display', { 'p.yaml': 'x' });
    expect((await readPolicyFiles(root, { displayBase: dir })).files[0]!.path).toBe('display/p.yaml');
    expect((await readPolicyFiles(root, { displayBase: '/nonexistent-base' })).files[0]!.path).toBe(path.join(root, 'p.yaml'));
  });

  it('reads a single file given directly, whatever its extension', async () => {
    const root = tree('single', { 'policy.txt': 'kind: x' });
    const r = await readPolicyFiles(path.join(root, 'policy.txt'), { displayBase: root });
    expect(r.files).toEqual([{ path: 'policy.txt', text: 'kind: x' }]);
  });

  it('reports a missing root as io-not-found', async () => {
    const r = await readPolicyFiles(path.join(dir, 'missing'), { displayBase: dir });
    expect(r.files).toEqual([]);
    expect(r.diagnostics).toMatchObject([{ severity: 'error', code: 'io-not-found', pos: { file: 'missing', line: 0 } }]);
  });

  it('stops at the file-count limit with io-too-many-files', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`f${String(i).padStart(2, '0')}.yaml`] = 'a: 1';
    const root = tree('many', files);
    const r = await readPolicyFiles(root, { displayBase: root, maxFiles: 10 });
    expect(r.files.length).toBe(10);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['io-too-many-files']);
  });

  it('does not read files over the per-file limit, and stops at the total limit', async () => {
    const root = tree('sizes', { 'a-big.yaml': 'x'.repeat(2000), 'b.yaml': 'y'.repeat(600), 'c.yaml': 'z'.repeat(600) });
    const r = await readPolicyFiles(root, { displayBase: root, maxFileBytes: 1000, maxTotalBytes: 1000 });
    expect(r.files.map((f) => f.path)).toEqual(['b.yaml']);
    expect(r.diagnostics.map((d) => `${d.pos.file} ${d.code}`)).toEqual(['a-big.yaml file-too-large', 'c.yaml io-total-too-large']);
  });

  it('detects symlink loops and dangling links, and reads a directory reached twice only once', async () => {
    const root = tree('links', { 'real/p.yaml': 'kind: x' });
    symlinkSync('..', path.join(root, 'real', 'up'));
    symlinkSync('real', path.join(root, 'alias'));
    symlinkSync('nowhere.yaml', path.join(root, 'dangling.yaml'));
    symlinkSync('self.yaml', path.join(root, 'self.yaml'));
    const r = await readPolicyFiles(root, { displayBase: root });
    expect(r.files.map((f) => f.path)).toEqual(['alias/p.yaml']);
    const got = r.diagnostics.map((d) => `${d.pos.file} ${d.code}`).sort();
    expect(got).toContain('dangling.yaml io-unreadable');
    expect(got).toContain('self.yaml io-symlink-loop');
    expect(got.some((g) => g.endsWith('io-symlink-loop') && g.includes('up'))).toBe(true);
  });

  it('never opens a FIFO (it would block) and reports it as io-not-regular', async () => {
    const root = tree('fifo', { 'ok.yaml': 'a: 1' });
    execFileSync('mkfifo', [path.join(root, 'pipe.yaml')]);
    const r = await readPolicyFiles(root, { displayBase: root });
    expect(r.files.map((f) => f.path)).toEqual(['ok.yaml']);
    expect(r.diagnostics).toMatchObject([{ code: 'io-not-regular', pos: { file: 'pipe.yaml' } }]);
  });
});
