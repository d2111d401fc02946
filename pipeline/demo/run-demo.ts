/**
 * `palisade demo`: Palisade's whole loop on one machine, with real components. A policy repository made from the
 * template (real Git), the store with its GitHub webhook receiver (`palisade serve`), a local GitHub stand-in, the
 * rollout controller (`palisade rollout controller`) and three agents (`palisade-agent run --rollout`), each on a
 * "node" of network namespaces whose pods run servers and clients making the template's traffic. Then the story: the
 * policies roll out wave by wave and the live traffic is allowed and dropped as simulated; a pull request that would
 * break a recorded connection fails its check; a change that passes the simulation but breaks live traffic on the
 * canary is rolled back there by its agent and aborted by the controller; a good change reaches every node. Every
 * step waits on the real state (store records, GitHub requests, agents' reports), never on fixed sleeps alone.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFleet, ROLLOUT_RECORD, parseRolloutState, type RolloutState } from '../rollout/index.js';
import { openRecordStore, type RecordStore } from '../stores/index.js';
import { observeLines, packetCounts, renderFlowLine } from './agent-views.js';
import { DemoError } from './errors.js';
import { GithubStandIn, type StandInCheckRun } from './github-stand-in.js';
import { createLabNetwork, destroyLabNetwork, labLeftovers, type LabNetwork } from './lab-network.js';
import { planLab, type LabConnection, type LabPlan } from './lab-plan.js';
import { AttemptMeter, countsBetween, LiveTraffic, type AttemptCounts } from './live-traffic.js';
import { runSimulatedNodes, SimulatedTraffic, type SimulatedNodeFactory, type SimulatedNodeHandle } from './simulated-cluster.js';
import { Narrator } from './narrator.js';
import { MOVE_POSTGRES_PORT, SCRAPE_COREDNS, SHOP_DNS_UDP_ONLY, type PolicyChange } from './policy-changes.js';
import { DemoPolicyRepo } from './policy-repo.js';
import { predictConnections, type Prediction } from './predict.js';
import { ProcessGroup } from './processes.js';
import { Teardown } from './teardown.js';
import { deliverWebhook, pullRequestEvent, pushEvent, type Repository } from './webhook-delivery.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PALISADE = path.join(REPO_ROOT, 'bin', 'palisade');
const PALISADE_AGENT = path.join(REPO_ROOT, 'bin', 'palisade-agent');
const GITHUB_REPO: Repository = { owner: 'demo', name: 'shop-policies' };
const BOT = 'palisade-demo[bot]';
const STEPS = 7;

/** The rollout section the demo adds to the template's palisade.yaml: the canary node first; short bakes. */
export const DEMO_ROLLOUT = `# Added by \`palisade demo\`: the canary node first, then everyone, with bakes short enough for a demo.
rollout:
  waves:
    - name: canary
      nodeSelector: {matchLabels: {role: canary}}
      bake: 2s
    - name: everyone
      percent: 100
      bake: 1s
  gates:
    reportTimeout: 30s
`;

export interface DemoOptions {
  readonly template: string;
  /** Leave everything running after the story (until SIGINT/SIGTERM) and say how to look at it. */
  readonly keep: boolean;
  readonly line: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM: the demo stops waiting, cleans up and throws `demo-interrupted`. */
  readonly signal: AbortSignal;
  /** Nodes whose datapath is the tables engine, for a machine without root or BPF. */
  readonly simulatedNodes: SimulatedNodeFactory;
}

/** One connection's live counts beside the simulation's prediction. */
export interface TrafficRow {
  readonly connection: string;
  readonly recorded: boolean;
  readonly predicted: 'allowed' | 'dropped';
  readonly rule: string | null;
  readonly ok: number;
  readonly failed: number;
  readonly agrees: boolean;
}

export interface PullRequestResult {
  readonly number: number;
  readonly title: string;
  readonly head: string;
  readonly conclusion: string | null;
  readonly checkTitle: string | null;
  readonly annotations: { path: string; line: number; level: string; message: string }[];
  readonly comment: string | null;
}

/** What `--format json` prints. */
export interface DemoResult {
  ok: boolean;
  /** `simulated`: no root or BPF here; the agents' datapath was the tables engine and nothing was enforced. */
  datapath: 'kernel' | 'simulated';
  seconds: number;
  steps: { step: number; title: string; seconds: number }[];
  initial?: { serial: number; waves: { wave: number; nodes: string[] }[]; traffic: TrafficRow[]; packets: Record<string, { forwarded: number; dropped: number }> };
  breakingPullRequest?: PullRequestResult;
  badChange?: {
    pullRequest: PullRequestResult;
    serial: number;
    phase: string;
    reason: string | null;
    blastRadius: RolloutState['blastRadius'];
    rolledBackOn: string[];
    nodesThatRanIt: string[];
    serials: Record<string, number | null>;
    failedConnectionsOnCanary: string[];
    trafficAfterRollback: TrafficRow[];
  };
  goodChange?: { pullRequest: PullRequestResult; serial: number; serials: Record<string, number | null>; traffic: TrafficRow[] };
  github?: { checkRuns: number; comments: number; unexpectedRequests: string[] };
  leftovers: string[];
  error?: string;
  /** Where a failed run's logs were kept. */
  logs?: string;
}

/** Runs the demo. @returns its result (ok false with `error` when a step failed; everything is cleaned up then). */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const result: DemoResult = { ok: false, datapath: 'kernel', seconds: 0, steps: [], leftovers: [] };
  const say = new Narrator({ line: o.line }, STEPS);
  const teardown = new Teardown();
  const runId = randomBytes(2).toString('hex');
  let work: string | undefined;
  let stepTitle = '';
  let cleaned = false;
  const stepDone = (): void => {
    result.steps.push({ step: result.steps.length + 1, title: stepTitle, seconds: round(say.stepSeconds()) });
  };
  const step = (title: string): void => {
    stepTitle = title;
    say.step(title);
  };
  try {
    const noKernel = kernelUnavailable();
    const simulated = noKernel !== undefined;
    if (simulated) {
      result.datapath = 'simulated';
      o.line(`palisade demo: ${noKernel}: running the same loop with the agents' datapath replaced by the tables engine; every verdict below is SIMULATED, nothing is enforced`);
    }
    const sim = simulated ? ' (simulated)' : '';
    work = await mkdtemp(path.join(tmpdir(), 'palisade-demo-'));
    const workDir = work;
    teardown.add('remove the work directory', async () => {
      // A failed run keeps its processes' logs (only those) and says where.
      if (result.error && !o.signal.aborted) result.logs = await keepLogs(workDir, runId);
      await rm(workDir, { recursive: true, force: true });
    });
    const procs = new ProcessGroup(workDir);
    teardown.add('stop the processes', () => procs.stopAll());
    const wait = waiter(o.signal, procs);

    // ── 1. The repository.
    step('Create a policy repository from the template (real Git), a signing key, and the simulation\'s predictions');
    const repo = await DemoPolicyRepo.create(workDir, o.template, DEMO_ROLLOUT);
    say.say(`repository ${repo.origin} (main: ${short(await repo.head())}), cloned to ${repo.authorDir}`);
    await runTool(PALISADE, ['keygen', '--out', path.join(workDir, 'demo-signing')]);
    const key = { pub: path.join(workDir, 'demo-signing.pub'), priv: path.join(workDir, 'demo-signing.key') };
    say.say(`signing key ${key.pub} (palisade keygen)`);
    const plan = planLab(JSON.parse(await readFile(path.join(repo.authorDir, 'inventory.json'), 'utf8')), await readFile(path.join(repo.authorDir, 'flows', 'recorded.json'), 'utf8'));
    const predict = (): Promise<Map<string, Prediction>> =>
      predictConnections(path.join(repo.authorDir, 'policies'), path.join(repo.authorDir, 'inventory.json'), plan.connections, path.join(workDir, 'connections.jsonl'));
    say.say(`${plan.pods.length} pods on ${plan.nodes.length} nodes, ${plan.connections.length} connections (${plan.connections.filter((c) => !c.recorded).length} of them not in the recording: DNS over TCP)`);
    stepDone();

    // ── 2. Store, GitHub stand-in, nodes, controller.
    step('Start the store and webhook receiver, a GitHub stand-in, three nodes with pods and agents, and the rollout controller');
    const github = new GithubStandIn(`${GITHUB_REPO.owner}/${GITHUB_REPO.name}`, BOT);
    const githubUrl = await github.start();
    teardown.add('stop the GitHub stand-in', () => github.close());
    const secret = randomBytes(24).toString('hex');
    const storeToken = randomBytes(24).toString('hex');
    await writeFile(path.join(workDir, 'webhook-secret'), secret, { mode: 0o600 });
    await writeFile(path.join(workDir, 'store-token'), storeToken, { mode: 0o600 });
    await repo.cloneTo(path.join(workDir, 'receiver'));
    const serve = procs.start('store', PALISADE, [
      'serve', '--store', path.join(workDir, 'store'), '--listen', '127.0.0.1:0', '--token-file', path.join(workDir, 'store-token'), '--trust', key.pub,
      '--webhook-secret-file', path.join(workDir, 'webhook-secret'), '--repo', path.join(workDir, 'receiver'), '--github-repo', `${GITHUB_REPO.owner}/${GITHUB_REPO.name}`,
      '--key', key.priv, '--bot-login', BOT,
    ], { ...process.env, GITHUB_API_URL: githubUrl, GITHUB_TOKEN: `demo-${randomBytes(8).toString('hex')}` });
    const storeUrl = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(await procs.ready(serve, /serving .* at http:/, 30_000))![1]!;
    const webhookUrl = `${storeUrl}/github/webhook`;
    say.say(`store ${storeUrl} (palisade serve), GitHub webhooks at ${webhookUrl}, GitHub API stand-in ${githubUrl}`);

    const traffic = simulated ? new SimulatedTraffic(plan) : new LiveTraffic(plan);
    teardown.add('stop the traffic meter', () => traffic.close());
    const healthUrl = simulated ? '' : await traffic.serveHealth();
    const net = simulated ? undefined : createLabNetwork(runId, plan.pods);
    if (net) teardown.add('remove the pods\' namespaces and links', () => destroyLabNetwork(net));
    // Agents, controller and pods start together: the agents need the pods' links, not their processes.
    const agents = net ? await startAgents(workDir, runId, plan, net, procs, teardown, { storeUrl, trust: key.pub, healthUrl }) : [];
    const simNodes = simulated ? simulatedNodes(plan, o.simulatedNodes, { storeUrl, storeToken, trustFile: key.pub, health: (node) => traffic.health(node) }) : undefined;
    if (simNodes) {
      const rounds = runSimulatedNodes(simNodes, 250, () => undefined);
      teardown.add('stop the simulated nodes', () => rounds.stop());
    }
    procs.start('controller', PALISADE, [
      'rollout', 'controller', '--store', storeUrl, '--token-file', path.join(workDir, 'store-token'), '--trust', key.pub, '--key', key.priv,
      '--config', path.join(repo.authorDir, 'palisade.yaml'), '--interval', '250ms',
    ]);
    say.waiting(simulated ? 'the simulated agents\' first reports' : 'the pods\' servers and clients, the agents\' first reports');
    if (traffic instanceof LiveTraffic) await traffic.start(net!, procs, { intervalMs: 300, timeoutMs: 800 });
    else traffic.start(simNodes!, 300);
    for (const n of plan.nodes) say.say(`${n.name}${n.labels.role ? ` (${n.labels.role})` : ''}${sim}: ${plan.pods.filter((p) => p.node === n.name).map((p) => `${p.id} ${p.ipv4}`).join(', ')}`);
    const records = openRecordStore(storeUrl, { token: storeToken });
    await wait('the three agents to report to the store', async () => (await readFleet(records)).statuses.size === plan.nodes.length, 60_000);
    if (simulated) say.say('agents: the real apply cycle and rollout link over the tables engine, in this process (SIMULATED); controller: palisade rollout controller');
    else say.say(`agents: ${agents.map((a) => `${a.node} (metrics ${a.metricsUrl})`).join(', ')}; controller: palisade rollout controller`);
    say.say(`each node's bake health check: no connection its pods need failed twice in a row${simulated ? '' : ` (${healthUrl}/health/<node>)`}`);
    stepDone();

    // ── 3. The first rollout.
    step(`Merge the policies to main: publish, roll out wave by wave, enforce${sim}`);
    const initialHead = await repo.head();
    await deliverWebhook(webhookUrl, secret, pushEvent(GITHUB_REPO, '0'.repeat(40), initialHead));
    say.say(`push ${short(initialHead)} → webhook → palisade serve compiles, signs and publishes`);
    const first = await followRollout(records, wait, say, 1, (s) => s.phase === 'completed', sim);
    const predictions1 = await predict();
    await wait('every node to enforce serial 1', async () => sameSerial(await serials(records, plan), 1), 30_000);
    const rows1 = await trafficWindow(traffic, plan, predictions1, wait, say, `${simulated ? 'SIMULATED' : 'live'} traffic over 2.5 s, beside the simulation`);
    const packets: Record<string, { forwarded: number; dropped: number }> = {};
    if (simNodes) {
      for (const [node, n] of simNodes) packets[node] = { forwarded: 0, dropped: n.drops() };
      say.say(`simulated datapaths' policy drops (SIMULATED, no kernel): ${[...simNodes.keys()].map((node) => `${node} ${packets[node]!.dropped}`).join('; ')}`);
    } else {
      for (const a of agents) packets[a.node] = await packetCounts(`${a.metricsUrl}/metrics`);
      say.say(`agents' metrics (palisade_forward_count_total / palisade_drop_count_total): ${agents.map((a) => `${a.node} ${packets[a.node]!.forwarded} forwarded, ${packets[a.node]!.dropped} dropped`).join('; ')}`);
      const [dropped, dropped3] = await Promise.all([observeLines(PALISADE_AGENT, agents[0]!.stateDir, 'DROPPED', 2), observeLines(PALISADE_AGENT, agents[2]!.stateDir, 'DROPPED', 1)]);
      say.say(`palisade-agent observe --verdict DROPPED (node-1, node-3):`);
      for (const l of [...dropped, ...dropped3]) say.say(`  ${renderFlowLine(l)}`);
    }
    result.initial = { serial: 1, waves: first.waves, traffic: rows1, packets };
    stepDone();

    /** Merges pull request `number` into main, pushes, and delivers the push webhook (which publishes `serial`). */
    const mergeAndPush = async (change: PolicyChange, number: number, serial: number): Promise<string> => {
      const before = await repo.head();
      const merge = await repo.merge(change.branch, number, change.title);
      await repo.pushMain();
      await deliverWebhook(webhookUrl, secret, pushEvent(GITHUB_REPO, before, merge));
      say.say(`merged #${number} (${short(merge)}) → published serial ${serial}`);
      return merge;
    };

    // ── 4. A pull request that breaks a recorded connection.
    step('Open a pull request that would break a recorded connection');
    const pr1 = await openPullRequest(repo, MOVE_POSTGRES_PORT, 1, github, webhookUrl, secret, wait, say);
    result.breakingPullRequest = pr1;
    stepDone();

    // ── 5. A change that passes the simulation but fails on the canary.
    step(`Merge a change that passes the simulation but breaks ${simulated ? 'traffic (SIMULATED)' : 'live traffic'} on the canary`);
    const pr2 = await openPullRequest(repo, SHOP_DNS_UDP_ONLY, 2, github, webhookUrl, secret, wait, say);
    const merge2 = await mergeAndPush(SHOP_DNS_UDP_ONLY, 2, 2);
    const seen = watchSerials(records, o.signal);
    teardown.add('stop watching the nodes', () => seen.stop());
    const bad = await followRollout(records, wait, say, 2, (s) => s.phase === 'aborted' || s.phase === 'completed', sim);
    const aborted = bad.state;
    await wait('the canary to run the rollback bundle', async () => {
      const s = await rolloutState(records);
      const st = (await readFleet(records)).statuses.get('node-1');
      return s?.rollbackBundle != null && st?.bundle?.digest === s.rollbackBundle.digest && st.phase === 'active';
    }, 30_000);
    const seenSerials = seen.stop();
    const failedOnCanary = [...new Set(seenSerials.failures)];
    const rolledBackOn = [...new Set(seenSerials.rolledBack)];
    say.say(`blast radius: ${aborted.blastRadius ? `${aborted.blastRadius.nodes.join(', ')} for ${(aborted.blastRadius.exposedMs / 1000).toFixed(1)} s, ${aborted.blastRadius.drops} drops` : 'none'}`);
    const nodesThatRanIt = [...seenSerials.ran].sort();
    say.say(`nodes that ran serial 2: ${nodesThatRanIt.join(', ') || 'none'}; node-2 and node-3 stayed on serial 1${sim}`);
    const rows2 = await trafficWindow(traffic, plan, predictions1, wait, say, `${simulated ? 'SIMULATED ' : ''}traffic after the rollback (the policy of serial 1 again)`);
    const states2 = await serials(records, plan);
    result.badChange = {
      pullRequest: pr2,
      serial: 2,
      phase: aborted.phase,
      reason: aborted.reason,
      blastRadius: aborted.blastRadius,
      rolledBackOn,
      nodesThatRanIt,
      serials: states2,
      failedConnectionsOnCanary: failedOnCanary,
      trafficAfterRollback: rows2,
    };
    stepDone();

    // ── 6. Revert, and a good change everywhere.
    step(`Revert #2 and merge a good change: it rolls out to every node${sim}`);
    await repo.revertMerge(merge2);
    say.say('reverted #2 on main (git revert -m 1)');
    const pr3 = await openPullRequest(repo, SCRAPE_COREDNS, 3, github, webhookUrl, secret, wait, say);
    await mergeAndPush(SCRAPE_COREDNS, 3, 3);
    await followRollout(records, wait, say, 3, (s) => s.phase === 'completed', sim);
    await wait('every node to enforce serial 3', async () => sameSerial(await serials(records, plan), 3), 30_000);
    const rows3 = await trafficWindow(traffic, plan, await predict(), wait, say, `${simulated ? 'SIMULATED' : 'live'} traffic over 2.5 s, beside the simulation`);
    result.goodChange = { pullRequest: pr3, serial: 3, serials: await serials(records, plan), traffic: rows3 };
    result.github = { checkRuns: github.checkRuns.length, comments: github.comments.length, unexpectedRequests: [...github.unexpected] };
    stepDone();

    if (o.keep) {
      step('Keep everything running (--keep)');
      say.say(`palisade rollout status --store ${storeUrl}`);
      for (const a of agents) say.say(`palisade-agent observe --state-dir ${a.stateDir} --follow     # ${a.node}; metrics ${a.metricsUrl}/metrics`);
      say.say(`logs and repositories in ${workDir}; Ctrl-C stops and removes everything`);
      stepDone();
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
    } else {
      step('Clean up: processes, pods, pins, temporary files');
      cleaned = true;
      const failed = await teardown.run();
      result.leftovers = [...failed, ...labLeftovers(runId), ...pinLeftovers(runId), ...(existsSync(workDir) ? [workDir] : [])];
      say.say(`stopped ${plan.nodes.length} agents, the controller, the store and ${plan.pods.length} pods; removed ${plan.pods.length} namespaces, their links and the bridge, ${plan.nodes.length} pin directories and ${workDir}`);
      say.say(result.leftovers.length === 0 ? 'nothing left behind' : `left behind: ${result.leftovers.join(', ')}`);
      stepDone();
    }
    result.ok = agreesAll(result);
  } catch (err) {
    result.error = o.signal.aborted ? 'interrupted' : (err as Error).message;
  } finally {
    if (!cleaned && (!o.keep || o.signal.aborted || result.error)) {
      const failed = await teardown.run();
      result.leftovers.push(...failed, ...labLeftovers(runId), ...pinLeftovers(runId), ...(work && existsSync(work) ? [work] : []));
    }
    result.seconds = round(say.totalSeconds());
  }
  return result;
}

/** Copies the run's `*.log` files to `<tmp>/palisade-demo-<id>-logs`. @returns that directory */
async function keepLogs(workDir: string, runId: string): Promise<string> {
  const dir = path.join(tmpdir(), `palisade-demo-${runId}-logs`);
  await mkdir(dir, { recursive: true });
  for (const f of readdirSync(workDir)) if (f.endsWith('.log')) await copyFile(path.join(workDir, f), path.join(dir, f));
  return dir;
}

/** Why this machine cannot run the demo on its kernel (then it runs simulated), or undefined when it can. */
function kernelUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces and eBPF need root)';
  if (!existsSync('/sys/fs/bpf') || !existsSync('/sys/kernel/btf/vmlinux')) return 'no BPF here (no bpffs at /sys/fs/bpf or no kernel BTF)';
  if (!existsSync(path.join(REPO_ROOT, 'bpf', 'build', 'palisade.bpf.o'))) return 'the BPF object is not built (run ./setup.sh)';
  return undefined;
}

/** The simulated nodes of a plan, each with the whole cluster as its endpoints and its own pods local. */
function simulatedNodes(plan: LabPlan, make: SimulatedNodeFactory, c: { storeUrl: string; storeToken: string; trustFile: string; health: (node: string) => Promise<string | null> }): Map<string, SimulatedNodeHandle> {
  return new Map(
    plan.nodes.map((n) => [
      n.name,
      make({
        node: n.name,
        labels: n.labels,
        storeUrl: c.storeUrl,
        storeToken: c.storeToken,
        trustFile: c.trustFile,
        bakeMs: 3000,
        health: () => c.health(n.name),
        pods: plan.pods.map((p, i) => ({
          namespace: p.namespace,
          name: p.name,
          labels: p.labels,
          namespaceLabels: p.namespaceLabels,
          ips: [p.ipv4],
          ports: p.ports,
          ...(p.node === n.name ? { interface: `sim${i}` } : {}),
        })),
      }),
    ]),
  );
}

const round = (s: number): number => Math.round(s * 10) / 10;
const short = (sha: string): string => sha.slice(0, 8);

/** Runs a CLI tool to completion. @throws DemoError with its stderr */
function runTool(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new DemoError('demo-process-failed', `${path.basename(bin)} ${args[0]} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

type Wait = (what: string, pred: () => Promise<boolean>, ms: number) => Promise<void>;

/** Polls `pred` every 100 ms; throws when a process died, the demo was interrupted, or after `ms`. */
function waiter(signal: AbortSignal, procs: ProcessGroup): Wait {
  return async (what, pred, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      if (signal.aborted) throw new DemoError('demo-interrupted', 'interrupted');
      procs.check();
      if (await pred().catch(() => false)) return;
      if (Date.now() > end) throw new DemoError('demo-timeout', `timed out after ${ms / 1000} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
}

interface AgentInfo {
  readonly node: string;
  readonly stateDir: string;
  readonly pinDir: string;
  readonly metricsUrl: string;
}

export const pinDirOf = (runId: string, node: string): string => `/sys/fs/bpf/palisade-demo-${runId}-${node}`;

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startAgents(
  workDir: string,
  runId: string,
  plan: LabPlan,
  net: LabNetwork,
  procs: ProcessGroup,
  teardown: Teardown,
  c: { storeUrl: string; trust: string; healthUrl: string },
): Promise<AgentInfo[]> {
  const agents: AgentInfo[] = [];
  for (const node of plan.nodes) {
    const dir = path.join(workDir, node.name);
    await mkdir(dir, { recursive: true });
    // Every pod of the cluster is in each agent's ipcache; only the node's own pods have an interface there.
    const pods = net.pods.map((p) => ({
      namespace: p.pod.namespace,
      name: p.pod.name,
      labels: p.pod.labels,
      namespaceLabels: p.pod.namespaceLabels,
      ips: [p.pod.ipv4],
      ports: p.pod.ports.filter((x) => x.name !== undefined),
      ...(p.pod.node === node.name ? { interface: p.hostIf } : {}),
    }));
    await writeFile(path.join(dir, 'endpoints.json'), JSON.stringify({ pods }, null, 2));
    await writeFile(path.join(dir, 'agent.json'), JSON.stringify({ health: { url: `${c.healthUrl}/health/${node.name}`, timeoutSeconds: 2 }, bake: { intervalSeconds: 0.25 } }));
    const pinDir = pinDirOf(runId, node.name);
    teardown.add(`unpin ${pinDir}`, () => removePins(pinDir));
    const port = await freePort();
    procs.start(node.name, PALISADE_AGENT, [
      'run', '--store', c.storeUrl, '--trust', c.trust, '--endpoints', path.join(dir, 'endpoints.json'), '--state-dir', path.join(dir, 'state'), '--pin-dir', pinDir,
      '--bake', '3s', '--poll', '250ms', '--node', node.name, '--rollout', '--token-file', path.join(workDir, 'store-token'), '--config', path.join(dir, 'agent.json'),
      '--metrics', `127.0.0.1:${port}`, ...Object.entries(node.labels).flatMap(([k, v]) => ['--node-label', `${k}=${v}`]),
    ]);
    agents.push({ node: node.name, stateDir: path.join(dir, 'state'), pinDir, metricsUrl: `http://127.0.0.1:${port}` });
  }
  return agents;
}

/** Unpins what an agent pinned (its datapath keeps enforcing after it stops, by design) and its self-test dirs. */
function removePins(pinDir: string): void {
  for (const d of [pinDir, `${pinDir}-probe`, `${pinDir}-selftest`]) {
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) unlinkSync(path.join(d, n));
    rmSync(d, { recursive: true, force: true });
  }
}

function pinLeftovers(runId: string): string[] {
  try {
    return readdirSync('/sys/fs/bpf').filter((n) => n.startsWith(`palisade-demo-${runId}-`)).map((n) => `/sys/fs/bpf/${n}`);
  } catch {
    return [];
  }
}

async function rolloutState(records: RecordStore): Promise<RolloutState | undefined> {
  const rec = await records.getRecord(ROLLOUT_RECORD);
  return rec ? parseRolloutState(rec.value) : undefined;
}

/** Each node's reported serial (null before its first report of a bundle). */
async function serials(records: RecordStore, plan: LabPlan): Promise<Record<string, number | null>> {
  const fleet = await readFleet(records);
  return Object.fromEntries(plan.nodes.map((n) => {
    const s = fleet.statuses.get(n.name);
    return [n.name, s?.bundle && s.phase === 'active' ? s.bundle.serial : null];
  }));
}

const sameSerial = (s: Record<string, number | null>, serial: number): boolean => Object.values(s).every((v) => v === serial);

/**
 * Narrates the rollout of `serial` until `done`: each wave as it starts (its nodes), each node as it enforces, each
 * promotion, and the end.
 */
async function followRollout(records: RecordStore, wait: Wait, say: Narrator, serial: number, done: (s: RolloutState) => boolean, sim: string): Promise<{ state: RolloutState; waves: { wave: number; nodes: string[] }[] }> {
  const told = new Set<string>();
  const waves: { wave: number; nodes: string[] }[] = [];
  let state: RolloutState | undefined;
  say.waiting(`rollout of serial ${serial}`);
  const started = Date.now();
  await wait(`the rollout of serial ${serial}`, async () => {
    state = await rolloutState(records);
    if (!state || state.bundle.serial !== serial) return false;
    const fleet = await readFleet(records);
    for (const [node, r] of Object.entries(state.reached)) {
      let w = waves.find((x) => x.wave === r.wave);
      if (!w) waves.push((w = { wave: r.wave, nodes: [] }));
      if (!w.nodes.includes(node)) w.nodes.push(node);
    }
    const note = (key: string, text: string): void => {
      if (told.has(key)) return;
      told.add(key);
      say.say(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${text}`);
    };
    for (const w of waves) note(`wave ${w.wave}`, `wave ${w.wave + 1}: ${w.nodes.sort().join(', ')} told to run serial ${serial}`);
    for (const [node, st] of fleet.statuses) {
      if (st.bundle?.serial !== serial) continue;
      if (st.phase === 'baking' || st.phase === 'active') note(`${node} enforcing`, `${node}: enforcing serial ${serial} (${st.phase})${sim}`);
      if (st.phase === 'rolled-back') note(`${node} rolled back`, `${node}: its agent rolled back by itself${sim}: ${st.reason?.message ?? ''} [${st.reason?.code ?? ''}]`);
      if (st.phase === 'rejected') note(`${node} rejected`, `${node}: rejected serial ${serial}: ${st.reason?.message ?? ''} [${st.reason?.code ?? ''}]`);
    }
    for (const w of state.promoted) note(`promoted ${w}`, `wave ${w + 1} baked and healthy: promoted`);
    if (state.phase === 'aborted') note('aborted', `controller aborted the rollout: ${state.reason ?? ''}`);
    if (state.phase === 'completed') note('completed', `serial ${serial} runs on every node`);
    return done(state);
  }, 90_000);
  return { state: state!, waves };
}

/** Which serials each node reported while a bad change was out, and the canary's failing connections. */
function watchSerials(records: RecordStore, signal: AbortSignal): { stop(): { ran: Set<string>; rolledBack: string[]; failures: string[] } } {
  const ran = new Set<string>();
  const rolledBack: string[] = [];
  const failures: string[] = [];
  let running = true;
  void (async () => {
    while (running && !signal.aborted) {
      const fleet = await readFleet(records).catch(() => undefined);
      for (const [node, st] of fleet?.statuses ?? []) {
        if (st.bundle?.serial === 2 && (st.phase === 'baking' || st.phase === 'active' || st.phase === 'rolled-back')) ran.add(node);
        if (st.bundle?.serial === 2 && st.phase === 'rolled-back') rolledBack.push(node);
        if (st.bundle?.serial === 2 && st.reason) failures.push(...(/failing: (.*)$/.exec(st.reason.message)?.[1]?.split(', ') ?? []));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: () => {
      running = false;
      return { ran, rolledBack, failures };
    },
  };
}

/** Measures 2.5 s of live traffic and sets it beside the predictions. */
async function trafficWindow(traffic: AttemptMeter, plan: LabPlan, predictions: Map<string, Prediction>, wait: Wait, say: Narrator, title: string): Promise<TrafficRow[]> {
  const observed = traffic instanceof LiveTraffic ? 'live' : 'tables (SIMULATED)';
  say.waiting(`${title}`);
  // Attempts begun under the previous policy end within a timeout and an interval: let them pass first.
  const settled = Date.now() + 1200;
  await wait('attempts under the previous policy to end', async () => Date.now() >= settled, 10_000);
  const before = traffic.snapshot();
  const until = Date.now() + 2500;
  await wait('2.5 s of traffic', async () => Date.now() >= until, 10_000);
  const window = countsBetween(before, traffic.snapshot());
  const rows = plan.connections.map((c) => row(c, predictions.get(c.id)!, window.get(c.id)!));
  const width = Math.max(...rows.map((r) => r.connection.length));
  for (const r of rows) {
    const live = r.failed === 0 ? `${r.ok} ok` : r.ok === 0 ? `${r.failed} blocked` : `${r.ok} ok, ${r.failed} blocked`;
    say.say(`${r.agrees ? '✓' : '✗'} ${r.connection.padEnd(width)}  predicted ${r.predicted.padEnd(7)}  ${observed} ${live.padEnd(12)}${r.recorded ? '' : '  (not in the recording)'}`);
  }
  const agree = rows.filter((r) => r.agrees).length;
  say.say(`${agree} of ${rows.length} connections behave as the simulation predicted`);
  return rows;
}

function row(c: LabConnection, p: Prediction, n: AttemptCounts): TrafficRow {
  const predicted = p.allowed ? 'allowed' : 'dropped';
  const agrees = n.ok + n.failed > 0 && (p.allowed ? n.failed === 0 : n.ok === 0);
  return { connection: c.id, recorded: c.recorded, predicted, rule: p.rule, ok: n.ok, failed: n.failed, agrees };
}

/** Pushes a branch with `change`, delivers its pull_request event, and waits for the check and the comment. */
async function openPullRequest(repo: DemoPolicyRepo, change: PolicyChange, number: number, github: GithubStandIn, webhookUrl: string, secret: string, wait: Wait, say: Narrator): Promise<PullRequestResult> {
  const c = await repo.branch(change.branch, change.title, (dir) => change.edit(dir));
  await deliverWebhook(webhookUrl, secret, pullRequestEvent(GITHUB_REPO, { number, title: change.title, branch: c.branch, base: c.base, head: c.sha }));
  say.say(`pull request #${number} "${change.title}" (${c.branch} at ${short(c.sha)}) → webhook → palisade serve runs the check`);
  let run: StandInCheckRun | undefined;
  await wait(`the check of #${number}`, async () => {
    run = github.checkRunFor(c.sha);
    return run?.status === 'completed' && github.comments.some((x) => x.issue === number);
  }, 60_000);
  const comment = github.comments.find((x) => x.issue === number)!;
  const result: PullRequestResult = {
    number,
    title: change.title,
    head: c.sha,
    conclusion: run!.conclusion,
    checkTitle: run!.title,
    annotations: run!.annotations.map((a) => ({ path: a.path, line: a.start_line, level: a.annotation_level, message: a.message })),
    comment: comment.body,
  };
  say.say(`check run "${run!.name}": ${result.conclusion} — ${result.checkTitle ?? ''}`);
  for (const a of result.annotations.slice(0, 6)) say.say(`  ${a.level} ${a.path}:${a.line}  ${a.message.split('\n').slice(0, 2).join(' ')}`);
  if (result.annotations.length > 6) say.say(`  … ${result.annotations.length - 6} more annotations`);
  if (number === 1) {
    say.say('PR comment, as the GitHub stand-in received it:');
    for (const l of comment.body.split('\n')) say.say(`  │ ${l}`);
  }
  return result;
}

/** The demo's own verdict: every expectation of the story held. */
function agreesAll(r: DemoResult): boolean {
  const allAgree = (rows: TrafficRow[] | undefined): boolean => rows !== undefined && rows.every((x) => x.agrees);
  return (
    allAgree(r.initial?.traffic) &&
    r.breakingPullRequest?.conclusion === 'failure' &&
    r.badChange?.pullRequest.conclusion === 'success' &&
    r.badChange.phase === 'aborted' &&
    r.badChange.nodesThatRanIt.join() === 'node-1' &&
    allAgree(r.badChange.trafficAfterRollback) &&
    r.goodChange !== undefined &&
    sameSerial(r.goodChange.serials, 3) &&
    allAgree(r.goodChange.traffic)
  );
}
