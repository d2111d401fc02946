/**
 * `palisade demo [--template DIR] [--keep DIR]`: Palisade's main job on its embedded default, the template policy
 * repository that ships with Palisade. It runs the same commands a team's pipeline runs, in order:
 *   1. validate the policies;
 *   2. simulate the recorded flows against them (summary);
 *   3. create a throw-away signing key, compile a signed bundle (policy model, BPF object, probe vectors);
 *   4. verify that bundle against the key, as a node agent would before activating it.
 * Every step is the real command module; the demo only chains them. Exit 0 when every step succeeded, else the
 * first failing step's exit code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printLine, printText } from '../output.js';
import type { CommandModule } from '../main.js';

const USAGE = 'usage: palisade demo [--template DIR] [--keep DIR]';

/** The template repository shipped with Palisade (repo root/policy-repo-template, from dist/pipeline/cli/commands). */
function embeddedTemplate(): string {
  return fileURLToPath(new URL('../../../../policy-repo-template/', import.meta.url));
}

interface Step {
  readonly title: string;
  readonly command: string;
  readonly argv: string[];
}

/** Runs the demo. @returns the exit code of the first failing step, or 0. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, { template: { type: 'string' }, keep: { type: 'string' } }, USAGE);
  if (!parsed) return 0;
  const { values } = parsed;
  const template = path.resolve(values.template ?? embeddedTemplate());
  const rel = (p: string): string => path.relative(process.cwd(), p) || '.';
  const policies = rel(path.join(template, 'policies'));
  const flows = rel(path.join(template, 'flows', 'recorded.json'));
  const inventory = rel(path.join(template, 'inventory.json'));
  const work = values.keep ? path.resolve(values.keep) : await mkdtemp(path.join(tmpdir(), 'palisade-demo-'));
  const key = path.join(work, 'demo-signing');
  const bundle = path.join(work, 'bundle.tar');

  const steps: Step[] = [
    { title: `validate ${policies}`, command: 'validate', argv: [policies] },
    {
      title: `simulate ${flows} against ${policies}`,
      command: 'simulate',
      argv: ['--policies', policies, '--flows', flows, '--inventory', inventory, '--format', 'summary'],
    },
    { title: 'keygen (a throw-away signing key for this demo)', command: 'keygen', argv: ['--out', key] },
    {
      title: 'compile a signed bundle',
      command: 'compile',
      argv: ['--policies', policies, '--flows', flows, '--inventory', inventory, '--key', `${key}.key`, '--out', bundle],
    },
    { title: 'verify the bundle as a node agent would', command: 'verify', argv: [bundle, '--trust', `${key}.pub`] },
  ];
  try {
    for (const [i, step] of steps.entries()) {
      await printText('\n');
      await printLine(`── ${i + 1}/${steps.length} palisade ${step.title}`);
      const mod = (await import(new URL(`./${step.command}.js`, import.meta.url).href)) as CommandModule;
      const code = await mod.run(step.argv);
      if (code !== 0) {
        errorLine(`palisade demo: step ${i + 1} (${step.command}) exited ${code}`);
        return code;
      }
    }
    await printText('\n');
    await printLine(`All ${steps.length} steps passed.${values.keep ? ` Bundle and keys kept in ${rel(work)}.` : ''}`);
    return 0;
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}
