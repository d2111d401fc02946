/**
 * Shared setup of the kernel tests: whether this machine can run them (root, BPF, bpffs, the built object), test
 * "pods" (network namespaces with a veth whose host side sits on a test bridge), peers run inside them, and the
 * leak check. Everything created here is named with the `pld-` prefix.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'vitest';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OBJECT_PATH = join(REPO, 'bpf', 'build', 'palisade.bpf.o');
export const EMPTY_OBJECT_PATH = join(REPO, 'bpf', 'build', 'empty.bpf.o');
export const PEER = join(REPO, 'test', 'kernel', 'fixtures', 'peer.mjs');
export const PREFIX = 'pld-';

/** Run a command; returns stdout. Throws with stderr on failure. */
export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run a command, ignoring failure (cleanup paths). */
export function shQuiet(cmd: string, ...args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

function availability(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (the kernel tests need root with CAP_BPF and CAP_NET_ADMIN)';
  if (!existsSync('/sys/kernel/btf/vmlinux') && !existsSync('/proc/sys/kernel/unprivileged_bpf_disabled')) return 'no BPF in this kernel';
  try {
    sh('sh', '-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf');
  } catch {
    return 'bpffs cannot be mounted at /sys/fs/bpf';
  }
  if (!existsSync(OBJECT_PATH) || !existsSync(EMPTY_OBJECT_PATH)) {
    try {
      sh('bash', join(REPO, 'bpf', 'build.sh'));
    } catch (err) {
      return `bpf/build.sh failed: ${(err as Error).message.split('\n')[0]}`;
    }
    if (!existsSync(OBJECT_PATH)) return 'bpf/build/palisade.bpf.o is missing (clang not installed?)';
  }
  for (const tool of ['ip', 'bpftool']) {
    try {
      sh('sh', '-c', `command -v ${tool}`);
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

/** Why the kernel tests cannot run here, or undefined when they can. Computed once. */
export const kernelUnavailable: string | undefined = availability();

/**
 * `describe` for kernel tests: runs when the kernel is usable; off CI otherwise skips with one notice; on CI
 * (CI=true) a missing kernel is a failure, never a skip.
 */
export function describeKernel(name: string, body: () => void): void {
  if (kernelUnavailable === undefined) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('the kernel datapath is available (required on CI)', () => {
        throw new Error(`kernel tests cannot run: ${kernelUnavailable}`);
      });
    });
  } else {
    // One notice per test run: the first file to skip leaves a marker for its sibling workers (same parent).
    const marker = join(tmpdir(), `palisade-kernel-skip-${process.ppid}`);
    if (!existsSync(marker)) {
      writeFileSync(marker, kernelUnavailable);
      process.stderr.write(`[kernel tests skipped: ${kernelUnavailable}]\n`);
    }
    describe.skip(name, body);
  }
}

/** One test pod: a namespace with eth0, its host-side veth on the test bridge. */
export interface Pod {
  readonly ns: string;
  readonly hostIf: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

/** A bridge with pods on it; tear it down with `destroyPods`. */
export interface PodNet {
  readonly bridge: string;
  readonly pods: Pod[];
}

/**
 * Create `names.length` pods on one bridge: namespace `pld-<tag>-<name>`, host veth `pld<tag><i>h`,
 * IPv4 10.199.<subnet>.<i+2>/24 and IPv6 fd00:199:<subnet>::<i+2>/64 (no DAD).
 * @throws when any step fails (after removing what it created).
 */
export function createPods(tag: string, subnet: number, names: readonly string[]): PodNet {
  const bridge = `pld-br${tag}`;
  const net: PodNet = { bridge, pods: [] };
  try {
    sh('ip', 'link', 'add', bridge, 'type', 'bridge');
    sh('ip', 'link', 'set', bridge, 'addrgenmode', 'none');
    sh('ip', 'link', 'set', bridge, 'up');
    names.forEach((name, i) => {
      const ns = `pld-${tag}-${name}`;
      const hostIf = `pld${tag}${i}h`;
      const peerIf = `pld${tag}${i}p`;
      const pod: Pod = { ns, hostIf, ipv4: `10.199.${subnet}.${i + 2}`, ipv6: `fd00:199:${subnet}::${i + 2}` };
      sh('ip', 'netns', 'add', ns);
      net.pods.push(pod);
      sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
      sh('ip', 'link', 'set', hostIf, 'addrgenmode', 'none');
      sh('ip', 'link', 'set', peerIf, 'netns', ns);
      sh('ip', 'link', 'set', hostIf, 'master', bridge);
      sh('ip', 'link', 'set', hostIf, 'up');
      const inNs = (...a: string[]) => sh('ip', 'netns', 'exec', ns, ...a);
      inNs('ip', 'link', 'set', peerIf, 'name', 'eth0');
      inNs('ip', 'link', 'set', 'lo', 'up');
      inNs('ip', 'addr', 'add', `${pod.ipv4}/24`, 'dev', 'eth0');
      inNs('ip', 'addr', 'add', `${pod.ipv6}/64`, 'dev', 'eth0', 'nodad');
      inNs('ip', 'link', 'set', 'eth0', 'up');
    });
    return net;
  } catch (err) {
    destroyPods(net);
    throw err;
  }
}

/** Remove the pods' namespaces (their veths go with them) and the bridge. Never throws. */
export function destroyPods(net: PodNet | undefined): void {
  if (!net) return;
  for (const pod of net.pods) {
    shQuiet('ip', 'link', 'del', pod.hostIf);
    shQuiet('ip', 'netns', 'del', pod.ns);
  }
  shQuiet('ip', 'link', 'del', net.bridge);
}

/** Run the peer script inside `ns` to completion; returns its JSON line. */
export function peerRun(ns: string, ...args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`peer ${args.join(' ')} in ${ns} exited ${code}: ${stdout}${stderr}`));
      }
    });
  });
}

/** A long-running peer (server) inside `ns`; resolves once it printed {"ready":true}. */
export interface Server {
  /** SIGTERM it and return its final JSON line. */
  stop(): Promise<Record<string, unknown>>;
  readonly child: ChildProcess;
}

export function peerServe(ns: string, ...args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ready = false;
    const finals: ((v: Record<string, unknown>) => void)[] = [];
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!ready && stdout.includes('"ready":true')) {
        ready = true;
        resolve({
          child,
          stop: () =>
            new Promise((res) => {
              finals.push(res);
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('close', (code) => {
      if (!ready) reject(new Error(`server ${args.join(' ')} in ${ns} exited ${code} before ready: ${stderr}`));
      const line = stdout.trim().split('\n').pop() ?? '{}';
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { raw: stdout };
      }
      for (const f of finals) f(parsed);
    });
  });
}

/** Kill leftover peers by pid (cleanup paths). */
export function killServers(servers: readonly (Server | undefined)[]): void {
  for (const s of servers) if (s && s.child.exitCode === null) s.child.kill('SIGKILL');
}

function bpftoolIds(kind: 'prog' | 'map'): Set<number> {
  const list = JSON.parse(sh('bpftool', '-j', kind, 'list')) as { id: number }[];
  return new Set(list.map((x) => x.id));
}

/** What a test file created and must have removed: kernel object ids, its pin directory, its pods' tag. */
export interface Owned {
  readonly programs: readonly number[];
  readonly maps: readonly number[];
  /** bpffs directory of the file's datapath (e.g. /sys/fs/bpf/pld-traffic). */
  readonly pinDir: string;
  /** The `tag` given to createPods, when the file made pods. */
  readonly podTag?: string;
  /** Other interfaces the file made. */
  readonly links?: readonly string[];
}

/**
 * What of `owned` is still there: program/map ids (bpftool), the pin directory, the pods' namespaces, veths and
 * bridge. Map frees are deferred by the kernel (RCU), so this retries for up to ~3 s before reporting.
 */
export async function leftovers(owned: Owned): Promise<string[]> {
  let found: string[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    found = [];
    const progs = bpftoolIds('prog');
    const maps = bpftoolIds('map');
    for (const id of owned.programs) if (progs.has(id)) found.push(`bpf prog id ${id}`);
    for (const id of owned.maps) if (maps.has(id)) found.push(`bpf map id ${id}`);
    if (existsSync(owned.pinDir)) found.push(`${owned.pinDir} (${readdirSync(owned.pinDir).join(', ') || 'empty'})`);
    if (owned.podTag !== undefined) {
      const tag = owned.podTag;
      for (const ns of sh('ip', 'netns', 'list').split('\n')) if (ns.startsWith(`pld-${tag}-`)) found.push(`netns ${ns.split(' ')[0]}`);
      for (const line of sh('ip', '-o', 'link', 'show').split('\n')) {
        const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
        if (name && (name === `pld-br${tag}` || new RegExp(`^pld${tag}\\d+[hp]$`).test(name))) found.push(`link ${name}`);
      }
    }
    for (const link of owned.links ?? []) if (existsSync(`/sys/class/net/${link}`)) found.push(`link ${link}`);
    if (found.length === 0) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

/**
 * The afterAll of a file with pods: kill its peers, close its datapath, remove its pods (even when closing throws).
 * @returns what of `owned` is still there (see `leftovers`): the caller expects it to be empty
 */
export async function tearDownPods(
  servers: readonly (Server | undefined)[],
  dp: { close(): void } | undefined,
  net: PodNet | undefined,
  owned: Owned,
): Promise<string[]> {
  killServers(servers);
  try {
    dp?.close();
  } finally {
    destroyPods(net);
  }
  return leftovers(owned);
}
