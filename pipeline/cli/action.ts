/**
 * The GitHub Action's composition root (action.yml → bin/palisade-action.mjs → here): runs `runAction` with the
 * process's environment and turns an error into one line on stderr and an exit code, like every CLI command. The
 * release bundle (`npm run build:action`, see release/) is built from this module, so a release and a development
 * build run the same code.
 */
import { runAction } from '../github/index.js';
import { reportError } from './main.js';
import { finishOutput, guardOutput, queueText } from './output.js';

/**
 * Runs the Action once.
 * @returns the exit code: 0 ok, 1 the check failed (or an error), 2 bad inputs or GitHub's environment missing,
 *   74 stdout could not be written.
 */
export async function actionMain(env: NodeJS.ProcessEnv): Promise<number> {
  guardOutput();
  let code: number;
  try {
    // Workflow commands are escaped where they are built (workflowCommand), so the text goes out as it is.
    code = await runAction({ env, stdout: queueText });
  } catch (err) {
    code = reportError(err);
  }
  return finishOutput(code);
}
