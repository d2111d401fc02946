/**
 * A real policy repository for handler and GitHub tests: the template's policies, recorded flows and inventory
 * committed on `main`, plus helpers to branch, edit and find lines.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TEMPLATE = join(ROOT, 'policy-repo-template');

/** The palisade.yaml the tests commit: the template's paths, newly blocked flows fail. */
export const GATE_YAML = [
  'policies: policies',
  'flows: [flows/recorded.json]',
  'inventory: [inventory.json]',
  'gate:',
  '  newlyBlocked: fail',
  '  newlyAllowed: warn',
  '  overrides:',
  '    - label: palisade/accept-breakage',
  '      newlyBlocked: warn',
  '',
].join('\n');

/** A repository on disk. */
export class PolicyRepo {
  readonly dir: string;
  /**
   * @param fixedDates commit at a fixed date, so the same edits make the same commits (for rendered examples); off
   *   by default, since bundles built from old commits expire.
   */
  constructor(prefix = 'palisade-repo-', private readonly fixedDates = false) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.git('init', '-q', '-b', 'main');
    cpSync(join(TEMPLATE, 'policies'), join(this.dir, 'policies'), { recursive: true });
    mkdirSync(join(this.dir, 'flows'));
    cpSync(join(TEMPLATE, 'flows', 'recorded.json'), join(this.dir, 'flows', 'recorded.json'));
    cpSync(join(TEMPLATE, 'inventory.json'), join(this.dir, 'inventory.json'));
    writeFileSync(join(this.dir, 'palisade.yaml'), GATE_YAML);
    this.commitAll('starter policies');
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.org',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.org',
        ...(this.fixedDates ? { GIT_AUTHOR_DATE: '2026-11-30T12:00:00Z', GIT_COMMITTER_DATE: '2026-11-30T12:00:00Z' } : {}),
      },
    });
  }

  commitAll(message: string): string {
    this.git('add', '-A');
    this.git('commit', '-qm', message);
    return this.rev('HEAD');
  }

  rev(ref: string): string {
    return this.git('rev-parse', ref).trim();
  }

  /** Commits `edit` on branch `name` (created from `from` when new). @returns the new commit. */
  onBranch(name: string, from: string, edit: () => void): string {
    const exists = this.git('branch', '--list', name).trim() !== '';
    this.git('switch', '-q', ...(exists ? [name] : ['-c', name, from]));
    edit();
    const c = this.commitAll(name);
    this.git('switch', '-q', 'main');
    return c;
  }

  read(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }

  write(rel: string, text: string): void {
    mkdirSync(dirname(join(this.dir, rel)), { recursive: true });
    writeFileSync(join(this.dir, rel), text);
  }

  replace(rel: string, from: string, to: string): void {
    const text = this.read(rel);
    if (!text.includes(from)) throw new Error(`${rel} has no '${from}'`);
    this.write(rel, text.replace(from, to));
  }

  remove(rel: string): void {
    rmSync(join(this.dir, rel));
  }

  /** 1-based line of the first line of `rel` (in the work tree) containing `needle`. */
  lineOf(rel: string, needle: string): number {
    const i = this.read(rel).split('\n').findIndex((l) => l.includes(needle));
    if (i < 0) throw new Error(`${rel} has no line with '${needle}'`);
    return i + 1;
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
