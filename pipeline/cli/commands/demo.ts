/**
 * `palisade demo [--keep] [--format text|json] [--template DIR]`: Palisade's whole loop on this machine, from a pull
 * request to enforced and rolled-back policy (pipeline/demo/run-demo.ts tells the story). Ctrl-C (SIGINT) or SIGTERM
 * stops it and removes everything it created. Exit 0 when every expectation of the story held, 1 when the demo ran
 * but one did not (the JSON says which), 2 usage, 3 the demo could not run to its end (a step failed or timed out).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../core/errors.js';
import { runDemo, type DemoResult } from '../../demo/run-demo.js';
import type { SimulatedNodeFactory } from '../../demo/simulated-cluster.js';
import { openRecordStore, openStore } from '../../stores/index.js';
import { SimulatedNode } from '../../../node-agent/agent/simulated-node.js';
import { readAgentTrust } from '../../../node-agent/agent/trust.js';
import { parseCommandArgs } from '../command-args.js';
import { errorLine, printLine, printText, queueText } from '../output.js';

const USAGE = 'usage: palisade demo [--keep] [--format text|json] [--template DIR]';

/** The template repository shipped with Palisade (repo root/policy-repo-template, from dist/pipeline/cli/commands). */
function embeddedTemplate(): string {
  return fileURLToPath(new URL('../../../../policy-repo-template/', import.meta.url));
}

/**
 * A node agent over the tables engine (this command is a composition root: it may join the agent with the
 * pipeline), for the demo on a machine without root or BPF.
 */
const simulatedNodes: SimulatedNodeFactory = (spec) => {
  const node = new SimulatedNode({
    node: spec.node,
    labels: spec.labels,
    store: openStore(spec.storeUrl),
    records: openRecordStore(spec.storeUrl, { token: spec.storeToken }),
    trust: readAgentTrust([spec.trustFile], new Date()),
    endpoints: {
      // An endpoint set is sorted by namespace, then name.
      pods: [...spec.pods].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)).map((p) => ({
        namespace: p.namespace,
        name: p.name,
        labels: p.labels,
        namespaceLabels: p.namespaceLabels,
        ips: p.ips,
        namedPorts: p.ports.flatMap((x) => (x.name ? [{ name: x.name, port: x.port, protocol: x.protocol }] : [])),
        ...(p.interface ? { interface: p.interface } : {}),
      })),
    },
    bakeMs: spec.bakeMs,
    health: spec.health,
  });
  return {
    round: () => node.round(),
    judge: (direction, localIp, peerIp, protocol, dport) => node.judge({ direction, localIp, peerIp, protocol, dport }),
    drops: () => node.datapath.policyDrops(node.datapath.activeGeneration()),
  };
};

/** The story's results, a line each, for the summary. */
function outcomeLines(r: DemoResult): string[] {
  const out: string[] = [];
  const traffic = r.datapath === 'simulated' ? 'SIMULATED traffic (tables engine, nothing enforced)' : 'live traffic';
  const agree = (rows: { agrees: boolean }[] | undefined): string => (rows ? `${traffic} ${rows.filter((x) => x.agrees).length}/${rows.length} connections as predicted` : '-');
  if (r.initial) out.push(`   serial 1: waves ${r.initial.waves.map((w) => w.nodes.join('+')).join(' → ')}; ${agree(r.initial.traffic)}`);
  const pr = r.breakingPullRequest;
  if (pr) out.push(`   PR #${pr.number} "${pr.title}": check ${pr.conclusion}${pr.annotations[0] ? ` at ${pr.annotations[0].path}:${pr.annotations[0].line}` : ''}`);
  const bad = r.badChange;
  if (bad) {
    const br = bad.blastRadius;
    out.push(`   PR #${bad.pullRequest.number} "${bad.pullRequest.title}": check ${bad.pullRequest.conclusion}; serial ${bad.serial} ${bad.phase}, rolled back on ${bad.rolledBackOn.join(', ') || 'none'}${br ? ` (blast radius ${br.nodes.length} node, ${(br.exposedMs / 1000).toFixed(1)} s, ${br.drops} drops)` : ''}`);
  }
  const good = r.goodChange;
  if (good) out.push(`   PR #${good.pullRequest.number} "${good.pullRequest.title}": check ${good.pullRequest.conclusion}; serial ${good.serial} on ${Object.values(good.serials).filter((s) => s === good.serial).length}/${Object.keys(good.serials).length} nodes; ${agree(good.traffic)}`);
  return out;
}

/** Runs the demo. @returns 0 when it held, 1 when an expectation failed, 3 when it could not run to its end */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, { template: { type: 'string' }, keep: { type: 'boolean', default: false }, format: { type: 'string', default: 'text' } }, USAGE);
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, got '${values.format}'`, USAGE);
  const json = values.format === 'json';
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    errorLine(`palisade demo: ${signal}: stopping and removing everything it created`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runDemo({
      template: path.resolve(values.template ?? embeddedTemplate()),
      keep: values.keep,
      signal: stop.signal,
      line: json ? (l) => errorLine(l) : (l) => queueText(`${l}\n`),
      simulatedNodes,
    });
    if (json) {
      await printText(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      await printLine('');
      for (const l of outcomeLines(result)) await printLine(l);
      await printLine('');
      for (const s of result.steps) await printLine(`   ${String(s.seconds.toFixed(1)).padStart(6)} s  ${s.step}. ${s.title}`);
      await printLine(`   ${String(result.seconds.toFixed(1)).padStart(6)} s  in all${result.leftovers.length === 0 ? '; nothing left behind' : ''}`);
      if (result.leftovers.length > 0) errorLine(`palisade demo: left behind: ${result.leftovers.join(', ')}`);
      if (result.error) errorLine(`palisade demo: ${result.error}${result.logs ? ` (logs kept in ${result.logs})` : ''}`);
      else if (!result.ok) errorLine('palisade demo: the loop ran, but not every expectation held (see above, or --format json)');
    }
    if (stop.signal.aborted) return 130;
    return result.error ? 3 : result.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
