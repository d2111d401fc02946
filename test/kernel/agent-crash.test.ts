/**
 * SIGKILL at every step of the apply cycle, under UDP load: for each step, an agent started with
 * PALISADE_AGENT_DIE_AT=<step> kills itself there while a new bundle is applied; a new agent then adopts what is
 * pinned and what was committed, and applies the bundle to the end. Throughout, the client blasts UDP to an allowed
 * port and a denied port: every allowed datagram arrives and no denied one does — enforcement of the committed
 * generation never stops. Nothing is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { publicKeyPem } from '../../pipeline/core/bundle/index.js';
import { FsBundleStore } from '../../pipeline/stores/index.js';
import { StateDir } from '../../node-agent/agent/state-dir.js';
import { APPLY_STEPS } from '../../node-agent/agent/types.js';
import { KEY, bundleOf } from '../node-agent/agent/fixtures.js';
import { NOW, exitOf, removeAgentPins, until } from './agent-env.js';
import { OBJECT_PATH, REPO, createPods, sh, describeKernel, destroyPods, killServers, leftovers, peerRun, peerServe, type PodNet, type Server } from './kernel-env.js';

const PIN_DIR = '/sys/fs/bpf/pld-crash';
const ALLOWED = 5001;
const DENIED = 5002;
const policy = (extraTcp: number) => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: sv, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: sv}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: cl}}]
    toPorts: [{ports: [{port: "${ALLOWED}", protocol: UDP}, {port: "${extraTcp}", protocol: TCP}]}]
`;
describeKernel('palisade-agent killed at every step under UDP load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pld-agent-crash-'));
  const storeDir = join(dir, 'store');
  const stateDir = join(dir, 'state');
  const store = new FsBundleStore(storeDir);
  let net: PodNet | undefined;
  let sink: Server | undefined;
  const agents: ChildProcess[] = [];
  let log = '';

  const cl = () => net!.pods[0]!;
  const sv = () => net!.pods[1]!;
  const status = () => new StateDir(stateDir).read();
  const startAgent = (dieAt?: string): ChildProcess => {
    const child = spawn(join(REPO, 'bin', 'palisade-agent'), [
      'run', '--store', storeDir, '--trust', join(dir, 'key.pub'), '--endpoints', join(dir, 'endpoints.json'),
      '--state-dir', stateDir, '--pin-dir', PIN_DIR, '--object', OBJECT_PATH, '--bake', '1s', '--poll', '200ms',
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PALISADE_AGENT_DIE_AT: dieAt ?? '' } });
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    agents.push(child);
    return child;
  };

  beforeAll(async () => {
    net = createPods('ck', 42, ['cl', 'sv']);
    writeFileSync(join(dir, 'key.pub'), publicKeyPem(KEY.publicKey));
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({
      pods: [
        { namespace: 'shop', name: 'cl', labels: { app: 'cl' }, ips: [cl().ipv4], interface: cl().hostIf },
        { namespace: 'shop', name: 'sv', labels: { app: 'sv' }, ips: [sv().ipv4], interface: sv().hostIf },
      ],
    }));
    sink = await peerServe(sv().ns, 'serve-udp', '4', String(ALLOWED), String(DENIED));
    await store.publish({ serial: 1, bytes: bundleOf(1, [KEY], policy(9001), NOW) });
    const first = startAgent();
    await until('serial 1 committed', async () => (await status()).enforced?.record.serial === 1, () => log);
    first.kill('SIGTERM');
    await exitOf(first);
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    killServers([sink]);
    removeAgentPins(PIN_DIR);
    destroyPods(net);
    rmSync(dir, { recursive: true, force: true });
    expect(await leftovers({ programs: [], maps: [], pinDir: PIN_DIR, podTag: 'ck' })).toEqual([]);
  }, 60_000);

  test('every allowed datagram arrives and no denied one does, through a SIGKILL at each step and the restart after it', async () => {
    const sent = { [ALLOWED]: 0, [DENIED]: 0 };
    // Back-to-back blasts for the whole run (a new sender every second: the gaps are process starts).
    let done = false;
    const blasting = (async () => {
      while (!done) {
        const r = (await peerRun(cl().ns, 'udp-blast', sv().ipv4, String(ALLOWED), String(DENIED), '1000')).sent as Record<string, number>;
        sent[ALLOWED] += r[ALLOWED] ?? 0;
        sent[DENIED] += r[DENIED] ?? 0;
      }
    })();
    let serial = 1;
    for (const step of APPLY_STEPS) {
      serial++;
      await store.publish({ serial, bytes: bundleOf(serial, [KEY], policy(9000 + serial), NOW) });
      const dying = startAgent(step);
      expect(await exitOf(dying)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(log).toContain(`warn fault injection: dying at ${step}`);
      // What was committed is still what the state directory names.
      expect((await status()).enforced?.record.serial).toBe(serial - 1);
      // A pin the agent does not own, as another tool (or an older agent version) might leave: removed on start.
      sh('bpftool', 'map', 'create', `${PIN_DIR}/stray`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'pld_stray');
      const next = startAgent();
      await until(`serial ${serial} committed after dying at ${step}`, async () => (await status()).enforced?.record.serial === serial, () => log);
      next.kill('SIGTERM');
      await exitOf(next);
    }
    done = true;
    await blasting;
    await new Promise((r) => setTimeout(r, 300));
    const received = ((await sink!.stop()).received ?? {}) as Record<string, number>;
    sink = undefined;
    process.stdout.write(`[agent crash] sent ${sent[ALLOWED]} allowed, ${sent[DENIED]} denied; received ${received[ALLOWED]} allowed, ${received[DENIED]} denied\n`);
    expect(sent[ALLOWED]).toBeGreaterThan(1000);
    expect(received[DENIED]).toBe(0);
    expect(received[ALLOWED]).toBe(sent[ALLOWED]);
    // The restarts after an activation that never committed switched back first.
    expect(log).toMatch(/warn rolled back from serial \d+ to serial \d+: restart-uncommitted/);
    expect(log).toMatch(/info adopted serial \d+: enforcing generation [01]/);
    expect(log.match(new RegExp(`warn removed pin ${PIN_DIR}/stray: not a map of this agent`, 'g'))).toHaveLength(APPLY_STEPS.length);
  }, 400_000);
});
