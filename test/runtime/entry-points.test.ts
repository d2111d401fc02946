/**
 * The entry points as a user runs them: every `bin` in package.json exists, is executable, and runs on a supported
 * Node.js (the checkout's runtime/ or a new enough system Node), printing that version; an old Node gets one line.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
const minMajor = Number(/^>=(\d+)/.exec(pkg.engines.node)?.[1]);

describe('entry points', () => {
  it('engines names the supported minimum major', () => {
    expect(minMajor).toBeGreaterThanOrEqual(24);
  });

  for (const [name, file] of Object.entries(pkg.bin)) {
    it(`${name} (${file}) runs directly and prints the Node.js it runs on`, () => {
      const path = join(ROOT, file);
      accessSync(path, constants.X_OK);
      const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const m = /^\S+ \d+\.\d+\.\d+ \(Node\.js v(\d+)\.\d+\.\d+\)\n$/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(minMajor);
    });
  }

  // These machines ship an end-of-life system Node; run there, the entry must refuse in one line, not crash.
  const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' });
  const systemMajor = system.status === 0 ? Number(system.stdout.trim()) : NaN;
  it.runIf(systemMajor < minMajor)(`an older Node (/usr/bin/node, v${systemMajor}) gets one line and exit 2`, () => {
    const r = spawnSync('/usr/bin/node', [join(ROOT, 'bin', 'palisade'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^palisade: needs Node\\.js >= ${minMajor}, this is v${systemMajor}\\.[^\\n]*run \\./setup\\.sh[^\\n]*\\n$`));
  });
});
