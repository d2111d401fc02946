/**
 * The demo's policy repository, real Git on disk: `origin.git` (bare, standing for GitHub), the author's clone
 * where pull requests are made and merged, and pushes to origin. The store's webhook receiver works on a clone of
 * its own and fetches from origin what it lacks, as it would from GitHub.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

/** A commit the demo made: its branch, id and the main-branch commit it is based on. */
export interface DemoCommit {
  readonly branch: string;
  readonly sha: string;
  readonly base: string;
}

const AUTHOR = ['-c', 'user.name=Palisade Demo', '-c', 'user.email=demo@palisade.invalid', '-c', 'commit.gpgsign=false'];

export class DemoPolicyRepo {
  private constructor(
    readonly origin: string,
    readonly authorDir: string,
    private readonly git: SimpleGit,
  ) {}

  /**
   * Creates origin and the author's clone from the template, with `extraConfig` appended to palisade.yaml, as the
   * first commit on main (pushed).
   */
  static async create(workDir: string, templateDir: string, extraConfig: string): Promise<DemoPolicyRepo> {
    const origin = path.join(workDir, 'origin.git');
    const authorDir = path.join(workDir, 'author');
    await simpleGit().raw(['init', '--quiet', '--bare', '--initial-branch=main', origin]);
    await cp(templateDir, authorDir, { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
    const git = simpleGit(authorDir);
    await git.raw(['init', '--quiet', '--initial-branch=main']);
    const config = path.join(authorDir, 'palisade.yaml');
    await writeFile(config, `${(await readFile(config, 'utf8')).trimEnd()}\n\n${extraConfig}`);
    await git.raw(['remote', 'add', 'origin', origin]);
    await git.raw(['add', '-A']);
    await git.raw([...AUTHOR, 'commit', '--quiet', '-m', 'Policies from the Palisade template']);
    await git.raw(['push', '--quiet', 'origin', 'main']);
    return new DemoPolicyRepo(origin, authorDir, git);
  }

  /** A clone of origin (for the webhook receiver). */
  async cloneTo(dir: string): Promise<void> {
    await simpleGit().raw(['clone', '--quiet', this.origin, dir]);
  }

  async head(): Promise<string> {
    return (await this.git.raw(['rev-parse', 'main'])).trim();
  }

  /** Commits `edit` on a new branch from main and pushes the branch (a pull request's head). */
  async branch(name: string, message: string, edit: (dir: string) => Promise<void>): Promise<DemoCommit> {
    const base = await this.head();
    await this.git.raw(['checkout', '--quiet', '-b', name, 'main']);
    try {
      await edit(this.authorDir);
      await this.git.raw(['add', '-A']);
      await this.git.raw([...AUTHOR, 'commit', '--quiet', '-m', message]);
      await this.git.raw(['push', '--quiet', 'origin', name]);
      return { branch: name, sha: (await this.git.raw(['rev-parse', 'HEAD'])).trim(), base };
    } finally {
      await this.git.raw(['checkout', '--quiet', 'main']);
    }
  }

  /** Merges a pull request's branch into main (a merge commit, as GitHub's merge button makes). @returns main's new head */
  async merge(branch: string, number: number, title: string): Promise<string> {
    await this.git.raw([...AUTHOR, 'merge', '--quiet', '--no-ff', '-m', `Merge pull request #${number} from demo/${branch}\n\n${title}`, branch]);
    return this.head();
  }

  /** Reverts a merge commit on main (its first parent is the mainline). @returns main's new head */
  async revertMerge(merge: string): Promise<string> {
    await this.git.raw([...AUTHOR, 'revert', '--no-edit', '-m', '1', merge]);
    return this.head();
  }

  /** Pushes main to origin. */
  async pushMain(): Promise<void> {
    await this.git.raw(['push', '--quiet', 'origin', 'main']);
  }
}
