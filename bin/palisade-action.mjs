// The GitHub Action's entry (action.yml: runs.using node24, runs.main). It runs, first found:
// - dist/pipeline/cli/action.js, a development build (`npm run build`);
// - action-dist/palisade-action.mjs, the single-file bundle a release commit carries (`npm run build:action`,
//   release/README.md), which needs nothing else: no node_modules, no dist/.
// Errors are one line, never a stack trace or a token.
import { existsSync } from 'node:fs';

const candidates = [new URL('../dist/pipeline/cli/action.js', import.meta.url), new URL('../action-dist/palisade-action.mjs', import.meta.url)];
const entry = candidates.find((u) => existsSync(u));
if (!entry) {
  process.stdout.write('::error title=Palisade::this checkout of the Palisade Action has no build: use a release tag (uses: OWNER/palisade@v0), or run `npm ci && npm run build` in it first\n');
  process.exit(2);
}
const { actionMain } = await import(entry.href);
process.exitCode = await actionMain(process.env);
