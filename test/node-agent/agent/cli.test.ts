/**
 * The palisade-agent command line without a kernel: usage errors exit 2 with one line, --help for every command,
 * durations, status from a state directory (text and JSON, hostile text escaped), observe over a rotating flow log
 * (filters, follow), trust root downgrade refused, and the file source's --node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { main, parseAgentDuration } from '../../../node-agent/agent/cli.js';
import { adopt } from '../../../node-agent/agent/adopt.js';
import { FlowLog } from '../../../node-agent/agent/flow-log.js';
import { observe } from '../../../node-agent/agent/observe.js';
import { StateDir } from '../../../node-agent/agent/state-dir.js';
import { TableDatapath } from '../../../node-agent/agent/table-datapath.js';
import { FileEndpointSource } from '../../../node-agent/discovery/index.js';
import { trustOfRoot } from '../../../pipeline/core/bundle/index.js';
import { rootOf } from '../../bundle/fixtures.js';
import { KEY, deps, scratch } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'pld-agent-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const code = await main(argv, '0.1.0', out, err);
  return { code, out: o, err: e };
}

describe('palisade-agent CLI', () => {
  test('usage errors are one line and exit 2; --help works for every command', async () => {
    expect(await run('frobnicate')).toEqual({ code: 2, out: '', err: "palisade-agent: unknown command 'frobnicate' (run, status, observe)\n" });
    expect(await run('run', '--store', 'x', '--trust', 'k.pub')).toEqual({ code: 2, out: '', err: 'palisade-agent run: give one of --endpoints FILE or --kubeconfig FILE\n' });
    expect(await run('run', '--store', 'x', '--trust', 'k', '--endpoints', 'e', '--rollout')).toEqual({ code: 2, out: '', err: 'palisade-agent run: --kubeconfig and --rollout need --node NAME\n' });
    expect(await run('run', '--store', 'x', '--trust', 'k', '--endpoints', 'e', '--kubeconfig', 'k')).toEqual({ code: 2, out: '', err: 'palisade-agent run: give one of --endpoints FILE or --kubeconfig FILE\n' });
    expect((await run('run', '--store', 'x', '--trust', 'k', '--endpoints', 'e', '--rollout', '--node', 'n', '--node-label', 'bad label')).err).toMatch(/^palisade-agent run: --node-label must be KEY=VALUE/);
    const bad = await run('run', '--store', 'x', '--trust', 'k', '--endpoints', 'e', '--bake', '30');
    expect(bad).toEqual({ code: 2, out: '', err: "--bake: bad duration '30' (use e.g. 30s, 2m, 500ms, 0)\n" });
    expect((await run('status', '--bogus')).code).toBe(2);
    for (const c of ['run', 'status', 'observe']) {
      const h = await run(c, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`^usage: palisade-agent ${c} `));
    }
    expect(await run('--version')).toEqual({ code: 0, out: `palisade-agent 0.1.0 (Node.js ${process.version})\n`, err: '' });
    expect([parseAgentDuration('0', 'x'), parseAgentDuration('500ms', 'x'), parseAgentDuration('2m', 'x')]).toEqual([0, 500, 120_000]);
  });

  test('a missing trust file stops run with code 2 (usage/I/O, as palisade) and one line', async () => {
    writeFileSync(join(dir, 'endpoints.yaml'), 'pods: []\n');
    const r = await run('run', '--store', join(dir, 'store'), '--trust', join(dir, 'missing.pub'), '--endpoints', join(dir, 'endpoints.yaml'), '--state-dir', join(dir, 'state-missing'));
    expect(r).toEqual({ code: 2, out: '', err: `${join(dir, 'missing.pub')}: ENOENT\n` });
  });

  test('status prints the enforced bundle, the last rejection (escaped) and rollback; --json the same as data', async () => {
    const st = new StateDir(join(dir, 'state-status'));
    await st.saveEnforced({ serial: 7, rollbackOf: null, manifestDigest: 'sha256:aa', bundleDigest: 'sha256:bb', repository: 'https://example.test/p.git', commit: 'c0ffee', generation: 1, since: '2026-12-01T00:00:00.000Z' }, new Uint8Array([1]));
    await st.saveRejection({ bundleDigest: 'sha256:cc', serial: 8, step: 'self-test', code: 'self-test-mismatch', message: 'probe\n\u001b[31mforged', at: '2026-12-01T00:01:00.000Z' });
    await st.saveRollback({ fromSerial: 9, toSerial: 7, reason: 'bake-failed', message: 'health check failed', at: '2026-12-01T00:02:00.000Z' });
    const r = await run('status', '--state-dir', st.dir);
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      'enforcing       serial 7 (sha256:aa), commit c0ffee of https://example.test/p.git, since 2026-12-01T00:00:00.000Z, generation 1',
      'last rejection  serial 8 at self-test: self-test-mismatch: probe\\x0a\\x1b[31mforged (2026-12-01T00:01:00.000Z)',
      'last rollback   serial 9 -> 7: bake-failed: health check failed (2026-12-01T00:02:00.000Z)',
      'agent           never ran with this state directory',
      '',
    ].join('\n'));
    const j = JSON.parse((await run('status', '--state-dir', st.dir, '--json')).out);
    expect(j).toMatchObject({ enforced: { serial: 7 }, lastRejection: { code: 'self-test-mismatch' }, lastRollback: { reason: 'bake-failed' }, agent: null });
  });

  test('observe reads the rotated and the current flow log, filters, and follows new lines', async () => {
    const d = join(dir, 'state-observe');
    new StateDir(d).ensure();
    const line = (verdict: string, ns: string, pod: string) => JSON.stringify({ flow: { verdict, source: { namespace: ns, pod_name: pod }, destination: { namespace: 'shop', pod_name: 'api' } } });
    const log = new FlowLog(d, 300);
    log.append(line('DROPPED', 'shop', 'web'));
    log.append(line('FORWARDED', 'shop', 'web'));
    log.append(line('DROPPED', 'other', 'x')); // rotates: the first two are in flows.1.jsonl now
    log.flush();
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += c));
    await observe({ stateDir: d, follow: false, verdict: 'dropped', out, signal: new AbortController().signal });
    expect(text.trim().split('\n').map((l) => JSON.parse(l).flow.source.pod_name)).toEqual(['web', 'x']);
    text = '';
    const ac = new AbortController();
    const following = observe({ stateDir: d, follow: true, namespace: 'other', pod: 'other/x', out, signal: ac.signal, pollMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    log.append(line('FORWARDED', 'other', 'x'));
    log.append(line('FORWARDED', 'shop', 'y'));
    log.flush();
    while (text.split('\n').length < 3) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await following;
    log.close();
    expect(text.trim().split('\n').map((l) => JSON.parse(l).flow.verdict)).toEqual(['DROPPED', 'FORWARDED']);
  });

  test('an older trust root than the state directory trusted is refused; a newer one is recorded', async () => {
    const s = scratch();
    try {
      const at = (version: number) => {
        const root = rootOf([KEY], 1, version);
        return { trust: trustOfRoot(root), root };
      };
      const { deps: d } = deps(s, new TableDatapath());
      await s.state.saveTrusted({ minSerial: 3, minRollbackOf: 3, trustRootVersion: 2 });
      await expect(adopt({ ...d, trust: at(1) }, await s.state.read(), { activeGen: 0, serial: 0 })).rejects.toMatchObject({ code: 'trust-downgrade' });
      const state = await adopt({ ...d, trust: at(3) }, await s.state.read(), { activeGen: 0, serial: 0 });
      expect(state.trusted).toMatchObject({ minSerial: 3, trustRootVersion: 3 });
      expect((await s.state.read()).trusted?.trustRootVersion).toBe(3);
    } finally {
      s.remove();
    }
  });

  test('--node: pods of another node are never local, whatever interface they list', async () => {
    const path = join(dir, 'nodes.yaml');
    writeFileSync(path, 'pods:\n  - {namespace: a, name: here, ips: [10.0.0.1], interface: veth1, node: n1}\n  - {namespace: a, name: there, ips: [10.0.0.2], interface: veth2, node: n2}\n');
    const set = await new FileEndpointSource(path, 1000, 'n1').read();
    expect(set.pods.map((p) => [p.name, p.interface ?? null])).toEqual([['here', 'veth1'], ['there', null]]);
  });
});
