import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepository, readPolicyTree, GitReadError } from '../../pipeline/git/index.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'palisade-git-'));
  dirs.push(d);
  return d;
}
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' },
  });
}
function write(root: string, rel: string, text: string | Buffer): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GitReadError);
    return (err as GitReadError).code;
  }
  throw new Error('expected a GitReadError');
}

let repo: string;
let first: string;

beforeAll(() => {
  repo = tmp();
  git(repo, 'init', '-q', '-b', 'main');
  write(repo, 'policies/web.yaml', 'kind: CiliumNetworkPolicy # v1\n');
  write(repo, 'policies/nested/db policy.yml', 'kind: NetworkPolicy\n');
  write(repo, 'policies/notes.txt', 'not a policy');
  write(repo, 'policies/LOUD.YAML', 'kind: Upper\n');
  write(repo, 'policies/ünïcode.yaml', 'name: ünïcode\n');
  write(repo, 'other/x.yaml', 'kind: Other\n');
  write(repo, 'README.md', 'readme\n');
  symlinkSync('web.yaml', join(repo, 'policies/link.yaml'));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  first = git(repo, 'rev-parse', 'HEAD').trim();
  write(repo, 'policies/web.yaml', 'kind: CiliumNetworkPolicy # v2\n');
  git(repo, 'commit', '-qam', 'second');
  git(repo, 'tag', 'v2');
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('readPolicyTree', () => {
  it('reads the files of a subdirectory at a ref, paths relative to the repository root', async () => {
    const r = await openRepository(repo);
    const snap = await readPolicyTree(r, 'HEAD~1', 'policies');
    expect(snap.commit).toBe(first);
    expect(snap.subdir).toBe('policies');
    expect(snap.files).toEqual([
      { path: 'policies/LOUD.YAML', text: 'kind: Upper\n' },
      { path: 'policies/nested/db policy.yml', text: 'kind: NetworkPolicy\n' },
      { path: 'policies/web.yaml', text: 'kind: CiliumNetworkPolicy # v1\n' },
      { path: 'policies/ünïcode.yaml', text: 'name: ünïcode\n' },
    ]);
    const head = await readPolicyTree(r, 'v2', './policies/');
    expect(head.files.find((f) => f.path === 'policies/web.yaml')?.text).toBe('kind: CiliumNetworkPolicy # v2\n');
  });

  it('reads the whole repository for an empty subdir, and works from a directory inside the work tree', async () => {
    const r = await openRepository(join(repo, 'policies', 'nested'));
    const snap = await readPolicyTree(r, 'main', '');
    expect(snap.files.map((f) => f.path)).toEqual([
      'other/x.yaml',
      'policies/LOUD.YAML',
      'policies/nested/db policy.yml',
      'policies/web.yaml',
      'policies/ünïcode.yaml',
    ]);
  });

  it('never touches the work tree, the index or HEAD', async () => {
    write(repo, 'policies/web.yaml', 'uncommitted edit\n');
    write(repo, 'policies/new.yaml', 'untracked\n');
    const before = git(repo, 'status', '--porcelain=v1');
    const headBefore = git(repo, 'rev-parse', 'HEAD');
    const indexBefore = readFileSync(join(repo, '.git', 'index'));
    const r = await openRepository(repo);
    const snap = await readPolicyTree(r, first, 'policies');
    expect(snap.files.find((f) => f.path === 'policies/web.yaml')?.text).toBe('kind: CiliumNetworkPolicy # v1\n');
    expect(snap.files.some((f) => f.path === 'policies/new.yaml')).toBe(false);
    expect(git(repo, 'status', '--porcelain=v1')).toBe(before);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(headBefore);
    expect(readFileSync(join(repo, '.git', 'index')).equals(indexBefore)).toBe(true);
    expect(readFileSync(join(repo, 'policies/web.yaml'), 'utf8')).toBe('uncommitted edit\n');
    git(repo, 'checkout', '-q', '--', 'policies/web.yaml');
    rmSync(join(repo, 'policies/new.yaml'));
  });

  it('reads a bare repository', async () => {
    const bare = join(tmp(), 'bare.git');
    git(repo, 'clone', '-q', '--bare', repo, bare);
    const snap = await readPolicyTree(await openRepository(bare), 'main', 'policies');
    expect(snap.files).toHaveLength(4);
  });

  it('reads many files across batches, identical contents included', async () => {
    const many = tmp();
    git(many, 'init', '-q');
    for (let i = 0; i < 450; i++) write(many, `p/f${String(i).padStart(3, '0')}.yaml`, i % 3 === 0 ? 'same\n' : `n: ${i}\n`);
    git(many, 'add', '-A');
    git(many, 'commit', '-qm', 'many');
    const snap = await readPolicyTree(await openRepository(many), 'HEAD', 'p');
    expect(snap.files).toHaveLength(450);
    expect(snap.files[3]).toEqual({ path: 'p/f003.yaml', text: 'same\n' });
    expect(snap.files[449]).toEqual({ path: 'p/f449.yaml', text: 'n: 449\n' });
  });

  it('names unknown refs, malformed refs, missing directories and non-repositories', async () => {
    const r = await openRepository(repo);
    expect(await codeOf(readPolicyTree(r, 'no-such-branch', 'policies'))).toBe('io-git-unknown-ref');
    expect(await codeOf(readPolicyTree(r, '0123456789abcdef0123456789abcdef01234567', 'policies'))).toBe('io-git-unknown-ref');
    expect(await codeOf(readPolicyTree(r, '--output=/tmp/x', 'policies'))).toBe('io-git-bad-ref');
    expect(await codeOf(readPolicyTree(r, 'main\nx', 'policies'))).toBe('io-git-bad-ref');
    // A tree is not a commit.
    expect(await codeOf(readPolicyTree(r, 'HEAD^{tree}', 'policies'))).toBe('io-git-unknown-ref');
    expect(await codeOf(readPolicyTree(r, 'HEAD', 'nope'))).toBe('io-git-missing-subdir');
    expect(await codeOf(readPolicyTree(r, 'HEAD', 'README.md'))).toBe('io-git-missing-subdir');
    expect(await codeOf(readPolicyTree(r, 'HEAD', '../outside'))).toBe('io-git-bad-subdir');
    expect(await codeOf(readPolicyTree(r, 'HEAD', '/etc'))).toBe('io-git-bad-subdir');
    expect(await codeOf(openRepository(tmp()))).toBe('io-git-not-a-repo');
    expect(await codeOf(openRepository(join(tmp(), 'absent')))).toBe('io-git-not-a-repo');
    const msg = await readPolicyTree(r, 'no-such-branch', 'policies').catch((e: Error) => e.message);
    expect(msg).toContain("unknown ref 'no-such-branch'");
  });

  it('enforces the file-count, file-size and total-size limits, and refuses non-UTF-8 text', async () => {
    const r = await openRepository(repo);
    expect(await codeOf(readPolicyTree(r, 'HEAD', 'policies', { limits: { maxFiles: 2 } }))).toBe('io-git-too-many-files');
    expect(await codeOf(readPolicyTree(r, 'HEAD', 'policies', { limits: { maxFileBytes: 20 } }))).toBe('io-git-file-too-large');
    expect(await codeOf(readPolicyTree(r, 'HEAD', 'policies', { limits: { maxTotalBytes: 40 } }))).toBe('io-git-tree-too-large');
    const bin = tmp();
    git(bin, 'init', '-q');
    write(bin, 'p/latin1.yaml', Buffer.from([0x6e, 0x3a, 0x20, 0xe9, 0x0a]));
    git(bin, 'add', '-A');
    git(bin, 'commit', '-qm', 'latin1');
    const err = await readPolicyTree(await openRepository(bin), 'HEAD', 'p').catch((e: GitReadError) => e);
    expect((err as GitReadError).code).toBe('io-git-not-utf8');
    expect((err as GitReadError).message).toContain('p/latin1.yaml');
  });
});
