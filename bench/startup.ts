/**
 * Start-up cost of the CLI: `palisade --version` against a bare `node -e 0`, medians of 20 runs each, and their
 * ratio (goal ≤ 3x). Prints figures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return ms;
}

const bin = path.join(root, 'bin', 'palisade');
time(['-e', '0']);
time([bin, '--version']);
const bare: number[] = [];
const cli: number[] = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(time(['-e', '0']));
  cli.push(time([bin, '--version']));
}
const b = median(bare);
const c = median(cli);
console.log(`node -e 0            median ${b.toFixed(1)} ms (${RUNS} runs)`);
console.log(`palisade --version   median ${c.toFixed(1)} ms (${RUNS} runs)`);
console.log(`ratio ${(c / b).toFixed(2)}x (goal <= 3x)`);
