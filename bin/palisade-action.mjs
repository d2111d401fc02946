// The GitHub Action's entry (action.yml: runs.using node24). It needs the compiled pipeline in dist/ (`npm run
// build`; a release of the Action ships it). Errors are one line, never a stack trace or a token.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/pipeline/github/action-main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stdout.write('::error title=Palisade::dist/ is missing: use a release of the Palisade Action, or run `npm ci && npm run build` first\n');
  process.exit(2);
}
const { runAction } = await import(entry.href);
const { reportError } = await import(new URL('../dist/pipeline/cli/main.js', import.meta.url).href);
try {
  process.exitCode = await runAction({ env: process.env, stdout: (t) => process.stdout.write(t) });
} catch (err) {
  process.exitCode = reportError(err);
}
