// Builds the GitHub Action's release payload into action-dist/: one ESM file with the Action's code and every
// dependency it uses (esbuild, from the TypeScript build in dist/), the BPF object `mode: publish` puts into
// bundles, and the notices of the bundled packages. A release commit carries action-dist/ (release/tag-action.sh),
// so `uses: OWNER/palisade@v0` runs on the runner's node24 with no install step and no network.
// Run through `npm run build:action` (which builds dist/ and bpf/build/ first).
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'pipeline', 'cli', 'action.js');
const bpfObject = join(root, 'bpf', 'build', 'palisade.bpf.o');
const out = join(root, 'action-dist');

function fail(message) {
  process.stderr.write(`build-action: ${message}\n`);
  process.exit(1);
}
if (!existsSync(entry)) fail(`${relative(root, entry)} is missing: run \`npm run build\` first`);
if (!existsSync(bpfObject)) fail(`${relative(root, bpfObject)} is missing: run \`npm run build\` with clang installed first`);

// Built next to the target and renamed into place: a failed build never leaves a half-written action-dist/.
const staging = `${out}.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(staging, 'bpf', 'build'), { recursive: true });
try {
  const result = await build({
    entryPoints: [entry],
    outfile: join(staging, 'palisade-action.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __palisadeRequire } from 'node:module';\nconst require = __palisadeRequire(import.meta.url);" },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  // The bundle finds the object beside it (defaultBpfObjectPath looks for bpf/build/ next to the running module).
  cpSync(bpfObject, join(staging, 'bpf', 'build', 'palisade.bpf.o'));
  writeFileSync(join(staging, 'THIRD-PARTY-NOTICES.md'), notices(Object.keys(result.metafile.inputs)));
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
} catch (err) {
  rmSync(staging, { recursive: true, force: true });
  fail(err instanceof Error ? err.message.split('\n')[0] : String(err));
}
process.stdout.write(`build-action: wrote ${relative(root, out)}${sep}palisade-action.mjs\n`);

/** Name, version, licence and licence text of every npm package with a file in the bundle. */
function notices(inputs) {
  const dirs = new Set();
  for (const input of inputs) {
    const parts = input.split('/');
    const at = parts.lastIndexOf('node_modules');
    if (at < 0) continue;
    const scoped = parts[at + 1]?.startsWith('@');
    dirs.add(parts.slice(0, at + (scoped ? 3 : 2)).join('/'));
  }
  const sections = [...dirs].sort().map((dir) => {
    const abs = join(root, dir);
    const pkg = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8'));
    const licenceFile = readdirSync(abs).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenceFile ? readFileSync(join(abs, licenceFile), 'utf8').trim() : '(no licence file in the package)';
    return `## ${pkg.name} ${pkg.version}\n\nLicence: ${pkg.license ?? 'not stated'}\n\n\`\`\`text\n${text}\n\`\`\`\n`;
  });
  return `# Third-party packages in palisade-action.mjs\n\n${sections.join('\n')}`;
}
