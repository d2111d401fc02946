// The one Node.js version check of the entry points: Palisade runs on Node.js 24 LTS or newer (package.json
// "engines"). An older Node gets one line saying how to fix it, not a syntax or import error from deep inside.
const MIN_MAJOR = 24;

/** Exits 2 with a one-line message when this Node.js is older than the supported major. */
export function requireSupportedNode(name) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= MIN_MAJOR) return;
  process.stderr.write(`${name}: needs Node.js >= ${MIN_MAJOR}, this is ${process.version} (${process.execPath}); run ./setup.sh, which installs Node.js 24 into runtime/ when the system one is older\n`);
  process.exit(2);
}
