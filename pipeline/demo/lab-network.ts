/**
 * The demo's pods on this machine: one network namespace per pod, its eth0 a veth whose host side sits on one
 * bridge (the "cluster network"), addressed with the pod's recorded IP in a /16. The agents attach to the host
 * sides. Every name carries the run's id (`pdemo-<id>-…`, `pd<id>…`), so removing a run's lab never touches anything
 * else, and leftovers of a run are found by name.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { DemoError } from './errors.js';
import type { LabPod } from './lab-plan.js';

/** A pod as created: where it lives on this machine. */
export interface LabPodNet {
  readonly pod: LabPod;
  /** Its network namespace (`ip netns exec <ns> …`). */
  readonly ns: string;
  /** The host side of its veth: the agent's attachment point. */
  readonly hostIf: string;
}

export interface LabNetwork {
  readonly runId: string;
  readonly bridge: string;
  readonly pods: readonly LabPodNet[];
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ipQuiet(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** The namespace prefix of a run. */
export const netnsPrefix = (runId: string): string => `pdemo-${runId}-`;
/** The link-name prefix of a run (bridge and veths). */
export const linkPrefix = (runId: string): string => `pd${runId}`;

/**
 * Creates the pods of a plan.
 * @throws DemoError `demo-lab-failed` (after removing what it created)
 */
export function createLabNetwork(runId: string, pods: readonly LabPod[]): LabNetwork {
  const bridge = `${linkPrefix(runId)}br`;
  const net: { runId: string; bridge: string; pods: LabPodNet[] } = { runId, bridge, pods: [] };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('link', 'set', bridge, 'addrgenmode', 'none');
    ip('link', 'set', bridge, 'up');
    pods.forEach((pod, i) => {
      const ns = `${netnsPrefix(runId)}${pod.id.split('/')[1]}`;
      const hostIf = `${linkPrefix(runId)}${String(i).padStart(2, '0')}h`;
      const peerIf = `${linkPrefix(runId)}${String(i).padStart(2, '0')}p`;
      ip('netns', 'add', ns);
      net.pods.push({ pod, ns, hostIf });
      ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
      ip('link', 'set', hostIf, 'addrgenmode', 'none');
      ip('link', 'set', peerIf, 'netns', ns);
      ip('link', 'set', hostIf, 'master', bridge);
      ip('link', 'set', hostIf, 'up');
      ip('-n', ns, 'link', 'set', peerIf, 'name', 'eth0');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${pod.ipv4}/16`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    });
    return net;
  } catch (err) {
    destroyLabNetwork(net);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new DemoError('demo-lab-failed', `could not create the demo's pods: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Removes a run's pods and bridge. Never throws. */
export function destroyLabNetwork(net: Pick<LabNetwork, 'bridge' | 'pods'>): void {
  for (const p of net.pods) {
    ipQuiet('link', 'del', p.hostIf);
    ipQuiet('netns', 'del', p.ns);
  }
  ipQuiet('link', 'del', net.bridge);
}

/** What of a run's lab is still on this machine: namespaces and links named for it. */
export function labLeftovers(runId: string): string[] {
  const found: string[] = [];
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync('/run/netns');
  } catch {
    // no namespaces at all
  }
  for (const ns of namespaces) if (ns.startsWith(netnsPrefix(runId))) found.push(`netns ${ns}`);
  let links: string[] = [];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    // not Linux
  }
  for (const l of links) if (l.startsWith(linkPrefix(runId))) found.push(`link ${l}`);
  return found;
}
