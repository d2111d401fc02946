/**
 * `palisade validate` end to end (spawning bin/palisade on dist/, built by `npm test`): output formats, exit codes,
 * and hostile input — Go templates, an alias bomb, a 50 MB file, binary garbage, 10,000-deep nesting, a directory of
 * 100,000 files, unreadable paths and symlink loops. Each must give a precise error, a bounded run and no stack trace.
 * Note: tests run as root, so `chmod 000` cannot make a file unreadable; a dangling link, a FIFO and a
 * self-referencing link stand in for unreadable files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'palisade');
let dir: string;
let shmDir: string | undefined;

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'pipeline', 'cli', 'commands', 'validate.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test does it) before these tests');
  }
  dir = mkdtempSync(path.join(tmpdir(), 'palisade-validate-cli-'));
  if (existsSync('/dev/shm')) shmDir = mkdtempSync('/dev/shm/palisade-validate-cli-');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (shmDir) rmSync(shmDir, { recursive: true, force: true });
}, 300_000);

function palisade(args: string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  // Never a stack trace, whatever happened.
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toMatch(/^\s+at /m);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(rel: string, text: string | Buffer): string {
  const p = path.join(dir, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return rel;
}

const GOOD = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEntities: [ingress]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`;

describe('palisade validate: formats and exit codes', () => {
  it('exits 0 on the template repository', () => {
    const r = palisade(['validate', 'policy-repo-template/policies'], ROOT);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+ files, \d+ policies valid; 0 errors, 0 warnings$/m);
  });

  it('prints path:line:col: error: message [code] relative to cwd, with a summary, and exits 1', () => {
    write('fmt/bad.yaml', GOOD.replace('toPorts: [{ports: [{port: "8080", protocol: TCP}]}]', 'toPorts:\n        - ports:\n            - port: "8080"\n              endPort: 80'));
    write('fmt/deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n');
    const r = palisade(['validate', 'fmt']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('fmt/bad.yaml:11:24: error: spec.ingress[0].toPorts[0].ports[0].endPort 80 is below port 8080 [port-range-inverted]');
    expect(r.stdout).toMatch(/2 files, 0 policies valid \(\+1 invalid\), 1 other object skipped \(Deployment 1\); 1 error, 0 warnings/);
  });

  it('writes GitHub workflow commands with --format github', () => {
    const r = palisade(['validate', '--format', 'github', 'fmt/bad.yaml']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error file=fmt\/bad\.yaml,line=11,col=24,title=port-range-inverted::spec\.ingress\[0\]/m);
  });

  it('writes JSON with --format json', () => {
    const r = palisade(['validate', '--format=json', 'fmt']);
    const out = JSON.parse(r.stdout) as { diagnostics: Array<{ code: string; pos: { line: number } }>; summary: { errors: number; skipped: Record<string, number> } };
    expect(out.summary.errors).toBe(1);
    expect(out.summary.skipped).toEqual({ Deployment: 1 });
    expect(out.diagnostics[0]).toMatchObject({ code: 'port-range-inverted', severity: 'error', pos: { file: 'fmt/bad.yaml', line: 11, col: 24 } });
  });

  it('exits 2 on usage errors and missing paths', () => {
    expect(palisade(['validate']).status).toBe(2);
    const bad = palisade(['validate', '--format', 'xml', 'fmt']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown format 'xml'");
    const missing = palisade(['validate', 'no/such/dir']);
    expect(missing.status).toBe(2);
    expect(missing.stdout).toMatch(/^no\/such\/dir: error: cannot read .*\[io-not-found\]$/m);
  });
});

describe('palisade validate: hostile input', () => {
  it('Go-templated YAML: a YAML error with line:col', () => {
    write('tpl/t.yaml', 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: {{ .Name }}\n{{- if .Egress }}\nspec: {}\n{{- end }}\n');
    const r = palisade(['validate', 'tpl']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^tpl\/t\.yaml:\d+:\d+: error: .*\[yaml-[a-z-]+\]$/m);
  });

  it('alias bomb ("billion laughs"): stopped at the alias limit', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    write('bomb/b.yaml', lines.join('\n') + '\n');
    const r = palisade(['validate', 'bomb']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^bomb\/b\.yaml:\d+:\d+: error: more than 100 alias references in one file \[yaml-alias-limit\]$/m);
  });

  it('a 50 MB file: refused by size without being read', () => {
    write('huge/h.yaml', Buffer.alloc(50 * 1024 * 1024, 'a'));
    const r = palisade(['validate', 'huge']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^huge\/h\.yaml: error: file is 50\.0 MiB, more than the limit of 8 MiB; not read \[file-too-large\]$/m);
  });

  it('binary garbage: a binary-file error at the first NUL', () => {
    const garbage = Buffer.concat([Buffer.from('kind: x\n'), randomBytes(4096), Buffer.from([0])]);
    write('bin/g.yaml', garbage);
    const r = palisade(['validate', 'bin']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^bin\/g\.yaml:\d+:\d+: error: .*\[(binary-file|invalid-utf8)\]$/m);
  });

  it('10,000-deep nesting, flow and block: yaml-too-deep', () => {
    write('deep/flow.yaml', 'a: ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n');
    write('deep/block.yaml', '- '.repeat(10_000) + 'x\n');
    const r = palisade(['validate', 'deep']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('deep/flow.yaml:1:');
    expect(r.stdout).toMatch(/^deep\/flow\.yaml:1:\d+: error: nesting is deeper than the limit of 64 levels \[yaml-too-deep\]$/m);
    expect(r.stdout).toMatch(/^deep\/block\.yaml:\d+:\d+: error: .*\[yaml-[a-z-]+\]$/m);
  });

  it('a directory of 100,000 files: read and summarised', () => {
    // tmpfs when there is one: creating 100,000 files on a journaling disk takes minutes on a loaded machine.
    const many = path.join(shmDir ?? dir, 'many');
    for (let d = 0; d < 100; d++) {
      mkdirSync(path.join(many, `d${d}`), { recursive: true });
      for (let f = 0; f < 1000; f++) writeFileSync(path.join(many, `d${d}`, `f${f}.yaml`), 'apiVersion: v1\nkind: ConfigMap\n');
    }
    const r = palisade(['validate', 'many'], path.dirname(many));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^100000 files, 0 policies valid, 100000 other objects skipped \(ConfigMap 100000\); 0 errors, 0 warnings$/m);
    writeFileSync(path.join(many, 'one-more.yaml'), 'a: 1\n');
    const over = palisade(['validate', 'many'], path.dirname(many));
    expect(over.status).toBe(2);
    expect(over.stdout).toMatch(/error: more than 100000 policy files under many; stopped reading \[io-too-many-files\]/);
  }, 300_000);

  it('unreadable paths and symlink loops: io errors with the path, exit 2', () => {
    write('io/ok.yaml', GOOD);
    symlinkSync('missing.yaml', path.join(dir, 'io', 'dangling.yaml'));
    symlinkSync('.', path.join(dir, 'io', 'loop'));
    symlinkSync('self.yaml', path.join(dir, 'io', 'self.yaml'));
    execFileSync('mkfifo', [path.join(dir, 'io', 'fifo.yaml')]);
    const r = palisade(['validate', 'io']);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^io\/dangling\.yaml: error: cannot read: no such file or directory .*\[io-unreadable\]$/m);
    expect(r.stdout).toMatch(/^io\/loop: error: symbolic link loop: .*\[io-symlink-loop\]$/m);
    expect(r.stdout).toMatch(/^io\/self\.yaml: error: .*\[io-symlink-loop\]$/m);
    expect(r.stdout).toMatch(/^io\/fifo\.yaml: error: not a regular file .*\[io-not-regular\]$/m);
    expect(r.stdout).toMatch(/1 file, 1 policy valid; 4 errors, 0 warnings/);
  });
});
