#!/usr/bin/env node
// Runs one benchmark: `npm run bench -- NAME` → node dist/bench/NAME.js (build first with `npm run build`).
// Without a name, lists the benchmarks that are built.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = path.join(root, 'dist', 'bench');
const available = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort()
  : [];
const [name, ...rest] = process.argv.slice(2);

if (!name) {
  if (available.length === 0) {
    console.error('no benchmarks built: run `npm run build` first');
    process.exit(2);
  }
  console.log(`usage: npm run bench -- NAME\n\nbenchmarks: ${available.join(', ')}`);
  process.exit(0);
}
if (!/^[a-z0-9-]+$/.test(name) || !available.includes(name)) {
  console.error(`unknown benchmark '${name}'${available.length ? `; available: ${available.join(', ')}` : ' (none built: run `npm run build`)'}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [path.join(dir, `${name}.js`), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
