/**
 * `palisade demo` end to end on this kernel, as a user runs it (bin/palisade, root): its JSON results say the story
 * held — the breaking pull request failed on the rule's line, the change that passed the simulation was rolled back
 * on exactly the canary, the good one reached all three nodes, the live traffic matched the simulation — and nothing
 * it created is left: no namespace, link, pin, process or temporary file. Ctrl-C cleans up too.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { DemoResult } from '../../pipeline/demo/run-demo.js';
import { exitOf } from './agent-env.js';
import { describeKernel, REPO } from './kernel-env.js';

/** What the demo could leave behind, by name: namespaces, links, bpffs entries, temp dirs, its processes. */
function footprint(): Set<string> {
  const out = new Set<string>();
  const ls = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const ns of ls('/run/netns')) if (ns.startsWith('pdemo-')) out.add(`netns ${ns}`);
  for (const l of ls('/sys/class/net')) if (/^pd[0-9a-f]{4}/.test(l)) out.add(`link ${l}`);
  for (const p of ls('/sys/fs/bpf')) if (p.startsWith('palisade-demo-')) out.add(`pin ${p}`);
  for (const t of ls(tmpdir())) if (t.startsWith('palisade-demo-')) out.add(`tmp ${t}`);
  for (const pid of ls('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (/pod-main\.js|palisade-demo-|--pin-dir \/sys\/fs\/bpf\/palisade-demo-/.test(cmd)) out.add(`process ${pid} ${cmd.slice(0, 120)}`);
  }
  return out;
}

const newSince = (before: Set<string>): string[] => [...footprint()].filter((x) => !before.has(x));

/** Runs bin/palisade demo with `args`; `onLine` may send it a signal. */
async function demo(args: string[], onLine?: (line: string, kill: (s: NodeJS.Signals) => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(join(REPO, 'bin', 'palisade'), ['demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of d.toString().split('\n')) onLine?.(l, (s) => child.kill(s));
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of d.toString().split('\n')) onLine?.(l, (s) => child.kill(s));
  });
  const { code } = await exitOf(child);
  return { code, stdout, stderr };
}

describeKernel('palisade demo', () => {
  test('--format json: the whole loop holds and nothing is left behind', async () => {
    const before = footprint();
    const { code, stdout, stderr } = await demo(['--format', 'json']);
    const r = JSON.parse(stdout) as DemoResult;
    expect(r.error, stderr).toBeUndefined();
    expect(code, stderr).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.datapath).toBe('kernel');
    expect(r.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // The first rollout: the canary alone, then the rest; live traffic as simulated, drops counted by the agents.
    expect(r.initial?.waves).toEqual([{ wave: 0, nodes: ['node-1'] }, { wave: 1, nodes: ['node-2', 'node-3'] }]);
    expect(r.initial?.traffic.every((t) => t.agrees && t.ok + t.failed > 0)).toBe(true);
    expect(r.initial?.traffic.filter((t) => t.predicted === 'dropped').map((t) => t.connection)).toEqual(['monitoring/prometheus → kube-system/coredns TCP/9153', 'shop/frontend → data/db TCP/5432']);
    expect(Object.values(r.initial!.packets).every((p) => p.forwarded > 0)).toBe(true);
    expect(r.initial!.packets['node-1']!.dropped).toBeGreaterThan(0);

    // The breaking pull request failed, annotated on the NetworkPolicy rule that no longer allows api → db.
    const pr = r.breakingPullRequest!;
    expect(pr.conclusion).toBe('failure');
    expect(pr.annotations).toContainEqual(expect.objectContaining({ path: 'policies/data/postgres.yaml', line: 15, level: 'failure' }));
    expect(pr.comment).toMatch(/shop\/api \| data\/db \| TCP\/5432/);

    // The change that passed the simulation: rolled back on the canary alone; the others never ran it.
    const bad = r.badChange!;
    expect(bad.pullRequest.conclusion).toBe('success');
    expect(bad.phase).toBe('aborted');
    expect(bad.reason).toMatch(/^node node-1 rolled back bundle serial 2: .*\[bake-failed\]$/);
    expect(bad.nodesThatRanIt).toEqual(['node-1']);
    expect(bad.rolledBackOn).toEqual(['node-1']);
    expect(bad.blastRadius?.nodes).toEqual(['node-1']);
    // The canary's DNS-over-TCP packets it dropped while it ran the bad bundle: the blast radius counts them.
    expect(bad.blastRadius!.drops).toBeGreaterThan(0);
    expect(bad.serials).toEqual({ 'node-1': 1, 'node-2': 1, 'node-3': 1 });
    expect(bad.trafficAfterRollback.every((t) => t.agrees)).toBe(true);

    // The good change reached every node, and the connection it opens flows.
    const good = r.goodChange!;
    expect(good.pullRequest.conclusion).toBe('success');
    expect(good.serials).toEqual({ 'node-1': 3, 'node-2': 3, 'node-3': 3 });
    expect(good.traffic.find((t) => t.connection === 'monitoring/prometheus → kube-system/coredns TCP/9153')).toMatchObject({ predicted: 'allowed', failed: 0 });
    expect(r.github?.unexpectedRequests).toEqual([]);

    expect(r.leftovers).toEqual([]);
    expect(newSince(before)).toEqual([]);
  }, 300_000);

  test('Ctrl-C in the middle stops it and removes everything it created', async () => {
    const before = footprint();
    let sent = false;
    const { code, stderr } = await demo([], (line, kill) => {
      if (!sent && line.includes('[3/7]')) {
        sent = true;
        kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping and removing everything it created/);
    const left = newSince(before);
    if (left.length > 0) execFileSync('ip', ['-all', 'netns', 'list']);
    expect(left).toEqual([]);
  }, 180_000);
});
