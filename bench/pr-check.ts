/**
 * `pr-check`: what a pull-request check costs end to end against `palisade diff` alone. A Git repository with 10,000
 * generated policies (1,000 files of 10), 1,000,000 recorded flows (about 1 KB each, on disk), and a pull request
 * that changes one file. Timed:
 * - `diff`: diffGitRefs (both trees from Git, one pass over the flows under both) + the Markdown report, i.e. what
 *   `palisade diff` does;
 * - `pr-check`: a signed pull_request webhook delivered over HTTP to the receiver → onPullRequest (gate config,
 *   changed files, validation, the same diff, annotations, comment) → the check run and comment sent to a counting
 *   GitHub fake, until the request that sets the check's conclusion. Also the API requests that took.
 * Goal: one pass over the flows, pr-check < 2x diff. Asserts nothing.
 *
 * Options: --policies N (default 10,000), --flows N (default 1,000,000), --runs N (default 1), --keep.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffGitRefs, renderMarkdown } from '../pipeline/diff/index.js';
import { createGithubClient, createWebhookReceiver, signWebhookBody, webhookRunner } from '../pipeline/github/index.js';
import { policyYaml, writeFlowFile } from './lib/simulate-data.js';
import { startGithubCounter } from './lib/github-counter.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const POLICIES = arg('policies', 10_000);
const FLOWS = arg('flows', 1_000_000);
const RUNS = arg('runs', 1);
const KEEP = process.argv.includes('--keep');
const SECRET = 'bench-secret';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.org' },
  });
}


function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-pr-'));
  const repo = path.join(dir, 'repo');
  const flows = path.join(dir, 'flows.json');
  try {
    mkdirSync(path.join(repo, 'policies'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    for (let i = 0; i < POLICIES; i += 10) {
      writeFileSync(path.join(repo, 'policies', `p${i}.yaml`), Array.from({ length: Math.min(10, POLICIES - i) }, (_, j) => policyYaml(i + j)).join('---\n'));
    }
    writeFileSync(path.join(repo, 'palisade.yaml'), 'policies: policies\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    // One file changed: the first policy now denies its pods' egress to every pod, so recorded flows change.
    const first = path.join(repo, 'policies', 'p0.yaml');
    const text = policyYaml(0);
    writeFileSync(first, Array.from({ length: 10 }, (_, j) => policyYaml(j)).join('---\n').replace(text, text.replace('    - toCIDR: [203.0.113.0/24]', '    - toEndpoints:\n        - {}')));
    git(repo, 'commit', '-qam', 'head: one file changed');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const tg = performance.now();
    await writeFlowFile(flows, FLOWS);
    console.log(`${POLICIES.toLocaleString('en')} policies in ${Math.ceil(POLICIES / 10)} files, ${FLOWS.toLocaleString('en')} flows (${(statSync(flows).size / 1048576).toFixed(0)} MiB) written in ${((performance.now() - tg) / 1000).toFixed(1)} s; one file changed`);

    const gh = await startGithubCounter();
    const receiver = createWebhookReceiver({
      secret: SECRET,
      run: webhookRunner({
        repoDir: repo,
        repository: 'bench/policies',
        github: () => createGithubClient({ token: 'bench-token', baseUrl: gh.url }),
        botLogin: 'github-actions[bot]',
        flows: [flows],
      }),
    });
    // The receiver runs the handler with the flows on disk, as a deployment with a local recording would.
    const server = createServer(receiver.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      for (let r = 0; r < RUNS; r++) {
        let t0 = performance.now();
        let c0 = cpuMs();
        const d = await diffGitRefs({ repo, base, head, policies: 'policies', flows: [flows] });
        if (d.kind !== 'report') throw new Error('the generated head has policy errors');
        renderMarkdown(d.report);
        const diffMs = performance.now() - t0;
        const diffCpu = cpuMs() - c0;

        const before = gh.requests.length;
        const payload = JSON.stringify({
          action: 'synchronize',
          number: 1,
          repository: { name: 'policies', owner: { login: 'bench' } },
          pull_request: { number: 1, base: { sha: base }, head: { sha: head }, labels: [] },
        });
        const done = gh.nextConclusion();
        t0 = performance.now();
        c0 = cpuMs();
        const res = await fetch(hookUrl, {
          method: 'POST',
          headers: { 'x-github-event': 'pull_request', 'x-github-delivery': `bench-${r}`, 'x-hub-signature-256': signWebhookBody(SECRET, payload) },
          body: payload,
        });
        const answeredMs = performance.now() - t0;
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
        const final = await done;
        const checkMs = final.at - t0;
        const checkCpu = cpuMs() - c0;
        await receiver.idle();
        const requests = gh.requests.slice(before);
        const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
        console.log(`run ${r + 1}: diff ${s(diffMs)} (cpu ${s(diffCpu)}), ${d.report.flows.changed.toLocaleString('en')} flows changed in ${d.report.connections.length} connections`);
        console.log(`       pr-check: webhook answered in ${answeredMs.toFixed(0)} ms; event → final check update ${s(checkMs)} (cpu ${s(checkCpu)}), conclusion ${final.conclusion}; ratio to diff ${(checkMs / diffMs).toFixed(2)}x wall, ${(checkCpu / diffCpu).toFixed(2)}x CPU (goal < 2x)`);
        console.log(`       GitHub API requests: ${requests.length} (${[...new Set(requests)].map((k) => `${requests.filter((x) => x === k).length}× ${k}`).join(', ')})`);
      }
    } finally {
      await receiver.close();
      await new Promise<void>((r) => server.close(() => r()));
      await gh.close();
    }
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
