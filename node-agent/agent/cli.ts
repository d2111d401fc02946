/**
 * The `palisade-agent` command line: `run` (the daemon), `status`, `observe`, `--help` on each, `--version`.
 * Exit codes: 0 success, 1 the agent could not start or stopped on an error, 2 usage.
 */
import { parseArgs } from 'node:util';
import { PalisadeError } from '../../pipeline/core/errors.js';
import { defaultObjectPath } from '../engine/index.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_KUBE_NAMESPACE, KubernetesRecordStore, loadKubeConfig, loadStoreToken } from '../../pipeline/stores/index.js';
import { FileEndpointSource, KubernetesEndpointSource, nodeLabelsFromApi } from '../discovery/index.js';
import { DEFAULT_CONFIG, readAgentConfig } from './config.js';
import { AgentError } from './errors.js';
import { escapeUntrusted } from '../../pipeline/core/text/index.js';
import { streamLog } from './log.js';
import { observe } from './observe.js';
import { runAgent } from './run.js';
import { StateDir } from './state-dir.js';
import { statusObject, statusText } from './status.js';
import { APPLY_STEPS, type ApplyStep } from './types.js';

/** Default state directory. */
export const DEFAULT_STATE_DIR = '/var/lib/palisade-agent';
/** Default bpffs pin directory. */
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/palisade';
/** Environment variable naming an apply step to die at (SIGKILL), for crash tests. */
export const DIE_AT_ENV = 'PALISADE_AGENT_DIE_AT';

const USAGE: Record<string, string> = {
  main: `usage: palisade-agent <command> [options]

commands:
  run       enforce signed bundles from a store on this node (the daemon)
  status    what the agent enforces, its last rejection and rollback, store, endpoints, map pressure
  observe   verdict events as Hubble JSON lines

palisade-agent <command> --help for its options; palisade-agent --version
`,
  run: `usage: palisade-agent run --store URL --trust PUB|ROOT.json... --endpoints FILE|--kubeconfig FILE [options]

  --store URL          bundle store: a directory, file://, http(s):// (palisade serve) or oci://host/repo
  --trust FILE         public key (.pub), or trust root JSON files (repeat: the trusted root, then rotations)
  --endpoints FILE     pods as YAML or JSON (re-read when it changes)
  --state-dir DIR      state directory (default ${DEFAULT_STATE_DIR})
  --pin-dir DIR        bpffs pin directory (default ${DEFAULT_PIN_DIR})
  --object FILE        the BPF object to enforce with (default: bpf/build/palisade.bpf.o of this checkout)
  --metrics HOST:PORT  serve /metrics, /healthz, /readyz
  --bake DURATION      bake window after activation, e.g. 30s, 2m, 0 (default 30s)
  --poll DURATION      how often to ask the store for a new bundle (default 5s)
  --node NAME          this node's name (pods of other nodes are never local)
  --kubeconfig FILE    endpoints from the Kubernetes API instead of --endpoints (pods and namespaces; needs --node;
                       'in-cluster': the pod's service account);
                       with --rollout, the node's target and status are its PolicyNode object in that cluster
  --namespace NS       namespace of the PolicyNode objects (with --rollout --kubeconfig; default palisade)
  --rollout            follow this node's target in the store (palisade rollout controller) instead of the latest
                       bundle, and report to its status record (needs --node; writes need the store token)
  --node-label K=V     a label of this node, for rollout waves that select by label (repeat; with --rollout
                       --kubeconfig and none given: the labels of this node's Node object, read at start)
  --token-file FILE    the store's token, for the rollout status records (default $PALISADE_STORE_TOKEN)
  --config FILE        JSON: {"health": {"command": [...]} | {"url": "..."}, "bake": {"maxPolicyDrops": N, "intervalSeconds": S}}

SIGTERM or SIGINT stops the agent; the datapath keeps enforcing for the next one.
`,
  status: `usage: palisade-agent status [--state-dir DIR] [--json]

  --state-dir DIR  state directory (default ${DEFAULT_STATE_DIR})
  --json           one JSON object instead of text
`,
  observe: `usage: palisade-agent observe [--state-dir DIR] [--follow] [--verdict V] [--namespace NS] [--pod NAME]

  --state-dir DIR   state directory (default ${DEFAULT_STATE_DIR})
  --follow          keep printing new events
  --verdict V       only FORWARDED, DROPPED, AUDIT (would-be drops of a bundle in audit) or another Hubble verdict
  --namespace NS    only flows with an end in namespace NS
  --pod NAME        only flows with an end named NAME (or NS/NAME)
`,
};

/** The agent's version line. */
export function versionLine(version: string): string {
  return `palisade-agent ${version} (Node.js ${process.version})`;
}

/**
 * Parses `30s`, `2m`, `1h`, `500ms`, `0`.
 * @returns milliseconds
 * @throws AgentError `bad-argument`
 */
export function parseAgentDuration(text: string, what: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(text);
  if (!m || (m[2] === undefined && m[1] !== '0')) throw new AgentError('bad-argument', `${what}: bad duration '${escapeUntrusted(text)}' (use e.g. 30s, 2m, 500ms, 0)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Number(m[1]) * unit;
}

function hostPort(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new AgentError('bad-argument', `--metrics: expected HOST:PORT, got '${escapeUntrusted(text)}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

class Usage extends Error {}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** Strict parse of one command's options (plus --help). @throws Usage */
function parse(command: string, argv: string[], options: OptionSpec): { values: Record<string, string | boolean | string[] | undefined> } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false });
    return { values: r.values as Record<string, string | boolean | string[] | undefined> };
  } catch (err) {
    throw new Usage(`palisade-agent ${command}: ${(err as Error).message}`);
  }
}

/**
 * Runs one command.
 * @returns the exit code
 */
export async function main(argv: string[], version: string, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const command = argv[0];
  const rest = argv.slice(1);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out.write(USAGE.main!);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-v') {
      out.write(`${versionLine(version)}\n`);
      return 0;
    }
    if (command === 'run') {
      const { values: v } = parse('run', rest, {
        store: { type: 'string' }, trust: { type: 'string', multiple: true }, endpoints: { type: 'string' },
        'state-dir': { type: 'string' }, 'pin-dir': { type: 'string' }, object: { type: 'string' }, metrics: { type: 'string' },
        bake: { type: 'string' }, poll: { type: 'string' }, node: { type: 'string' }, config: { type: 'string' },
        kubeconfig: { type: 'string' }, namespace: { type: 'string' }, rollout: { type: 'boolean' }, 'node-label': { type: 'string', multiple: true }, 'token-file': { type: 'string' },
      });
      if (v.help) return help(out, 'run');
      for (const need of ['store', 'trust'] as const) if (v[need] === undefined) throw new Usage(`palisade-agent run: --${need} is required`);
      // With --rollout, --kubeconfig may name the cluster of the rollout records while the endpoints come from a file.
      if (v.endpoints === undefined ? v.kubeconfig === undefined : v.kubeconfig !== undefined && !v.rollout) throw new Usage('palisade-agent run: give one of --endpoints FILE or --kubeconfig FILE');
      if (v.namespace !== undefined && !(v.rollout && v.kubeconfig !== undefined)) throw new Usage('palisade-agent run: --namespace goes with --rollout --kubeconfig');
      if ((v.kubeconfig !== undefined || v.rollout) && v.node === undefined) throw new Usage('palisade-agent run: --kubeconfig and --rollout need --node NAME');
      const labels: Record<string, string> = {};
      for (const pair of (v['node-label'] as string[] | undefined) ?? []) {
        const m = /^([A-Za-z0-9][A-Za-z0-9._/-]{0,252})=([A-Za-z0-9._-]{0,63})$/.exec(pair);
        if (!m) throw new Usage(`palisade-agent run: --node-label must be KEY=VALUE (a Kubernetes label), got '${pair}'`);
        labels[m[1]!] = m[2]!;
      }
      // On Kubernetes, waves select by the Node's own labels unless --node-label names them.
      if (v.rollout && v.kubeconfig !== undefined && Object.keys(labels).length === 0) Object.assign(labels, await nodeLabelsFromApi(kubeConfigOf(v.kubeconfig as string), v.node as string));
      const dieAt = process.env[DIE_AT_ENV];
      if (dieAt !== undefined && dieAt !== '' && !(APPLY_STEPS as readonly string[]).includes(dieAt)) throw new Usage(`${DIE_AT_ENV}: not a step (${APPLY_STEPS.join(', ')})`);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        await runAgent({
          storeUrl: v.store as string,
          trustPaths: v.trust as string[],
          endpoints: v.endpoints === undefined ? kubernetesSource(v.kubeconfig as string, v.node as string) : new FileEndpointSource(v.endpoints as string, 1000, v.node as string | undefined),
          ...(v.rollout
            ? {
                rollout: {
                  labels,
                  token: await loadStoreToken(v['token-file'] as string | undefined),
                  ...(v.kubeconfig !== undefined ? { records: new KubernetesRecordStore({ kubeConfig: kubeConfigOf(v.kubeconfig as string), namespace: (v.namespace as string | undefined) ?? DEFAULT_KUBE_NAMESPACE }) } : {}),
                },
              }
            : {}),
          stateDir: (v['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR,
          pinDir: (v['pin-dir'] as string | undefined) ?? DEFAULT_PIN_DIR,
          objectPath: (v.object as string | undefined) ?? defaultObjectPath(),
          ...(v.metrics !== undefined ? { metrics: hostPort(v.metrics as string) } : {}),
          bakeMs: v.bake !== undefined ? parseAgentDuration(v.bake as string, '--bake') : 30_000,
          pollMs: Math.max(100, v.poll !== undefined ? parseAgentDuration(v.poll as string, '--poll') : 5000),
          ...(v.node !== undefined ? { node: v.node as string } : {}),
          config: v.config !== undefined ? readAgentConfig(v.config as string) : DEFAULT_CONFIG,
          ...(dieAt ? { dieAt: dieAt as ApplyStep } : {}),
          log: streamLog(err),
          signal: ac.signal,
        });
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      return 0;
    }
    if (command === 'status') {
      const { values: v } = parse('status', rest, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } });
      if (v.help) return help(out, 'status');
      const persisted = await new StateDir((v['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR).read();
      out.write(v.json ? `${JSON.stringify(statusObject(persisted), null, 2)}\n` : statusText(persisted));
      return 0;
    }
    if (command === 'observe') {
      const { values: v } = parse('observe', rest, {
        'state-dir': { type: 'string' }, follow: { type: 'boolean' }, verdict: { type: 'string' }, namespace: { type: 'string' }, pod: { type: 'string' },
      });
      if (v.help) return help(out, 'observe');
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        await observe({
          stateDir: (v['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR,
          follow: v.follow === true,
          ...(v.verdict !== undefined ? { verdict: v.verdict as string } : {}),
          ...(v.namespace !== undefined ? { namespace: v.namespace as string } : {}),
          ...(v.pod !== undefined ? { pod: v.pod as string } : {}),
          out,
          signal: ac.signal,
        });
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      return 0;
    }
    throw new Usage(`palisade-agent: unknown command '${escapeUntrusted(command)}' (run, status, observe)`);
  } catch (e) {
    if (e instanceof Usage || (e instanceof AgentError && e.code === 'bad-argument')) {
      err.write(`${escapeUntrusted(e.message)}\n`);
      return 2;
    }
    const code = e instanceof PalisadeError ? `${e.code}: ` : '';
    err.write(`palisade-agent: ${code}${escapeUntrusted((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '')}\n`);
    return 1;
  }
}

function help(out: NodeJS.WritableStream, command: string): number {
  out.write(USAGE[command] ?? '');
  return 0;
}

/** The cluster of --kubeconfig (a file, or `in-cluster`: the pod's service account). @throws Usage. */
function kubeConfigOf(source: string): KubeConfig {
  try {
    return loadKubeConfig(source);
  } catch (err) {
    throw new Usage(`palisade-agent run: --kubeconfig: ${(err as Error).message}`);
  }
}

/** Endpoints from the Kubernetes API of a kubeconfig file (its current context). */
function kubernetesSource(path: string, node: string): KubernetesEndpointSource {
  return new KubernetesEndpointSource({ kubeConfig: kubeConfigOf(path), nodeName: node });
}
