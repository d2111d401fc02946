/**
 * Start-up cost of the CLI as a user runs it: `bin/palisade --version` executed directly (its shell line picks the
 * checkout's Node.js and re-executes) against a bare `node -e 0` on the same Node, medians of 20 runs each, and
 * their ratio (goal ≤ 1.5x). Prints figures; asserts nothing.
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

function time(file: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return ms;
}

const bin = path.join(root, 'bin', 'palisade');
const bareNode = (): number => time(process.execPath, ['-e', '0']);
const cliVersion = (): number => time(bin, ['--version']);
const ran = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
bareNode();
cliVersion();
const bare: number[] = [];
const cli: number[] = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(bareNode());
  cli.push(cliVersion());
}
const b = median(bare);
const c = median(cli);
console.log(`baseline: ${process.execPath} (${process.version}); CLI: ${ran}`);
console.log(`node -e 0            median ${b.toFixed(1)} ms (${RUNS} runs)`);
console.log(`palisade --version   median ${c.toFixed(1)} ms (${RUNS} runs)`);
console.log(`ratio ${(c / b).toFixed(2)}x (goal <= 1.5x)`);
