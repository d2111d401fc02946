/**
 * `palisade simulate` end to end through the built CLI: output formats, exit codes, and errors on bad input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const cli = join(repoRoot, 'bin/palisade');
const template = join(repoRoot, 'policy-repo-template');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-sim-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(
    join(dir, 'policies', 'api.yaml'),
    `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: api
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: web
      toPorts:
        - ports:
            - port: "8080"
              protocol: TCP
  egressDeny:
    - toEntities: [world]
`,
  );
  await mkdir(join(dir, 'bad-policies'));
  await writeFile(join(dir, 'bad-policies', 'bad.yaml'), 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: x\nspec:\n  endpointSelector: {}\n  ingress:\n    - fromCIDRSet:\n        - cidr: 10.0.0.0/8\n          except: [11.0.0.0/8]\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], input?: string | Buffer) {
  return spawnSync(process.execPath, [cli, 'simulate', ...args], { encoding: 'utf8', cwd: dir, input, maxBuffer: 64 << 20 });
}

const ep = (app: string) => ({ namespace: 'shop', labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=shop'], pod_name: `${app}-0` });
const line = (src: string, dst: string, port: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    flow: {
      IP: { source: src === 'world' ? '8.8.8.8' : `10.0.0.${src.length}`, destination: dst === 'world' ? '1.1.1.1' : `10.0.1.${dst.length}` },
      l4: { TCP: { source_port: 40000, destination_port: port } },
      source: src === 'world' ? { identity: 2, labels: ['reserved:world'] } : ep(src),
      destination: dst === 'world' ? { identity: 2, labels: ['reserved:world'] } : ep(dst),
      ...extra,
    },
  });

describe('palisade simulate', () => {
  it('is built', () => expect(existsSync(join(repoRoot, 'dist/pipeline/cli/commands/simulate.js'))).toBe(true));

  it('prints one jsonl line per flow in input order with the deciding rules', async () => {
    const flows = join(dir, 'flows.json');
    await writeFile(flows, [line('web', 'api', 8080), line('db', 'api', 8080), line('api', 'world', 443), line('api', 'web', 40000, { is_reply: true, l4: { TCP: { source_port: 8080, destination_port: 40000 } } })].join('\n'));
    const r = run(['--policies', 'policies', '--flows', flows, '--format', 'jsonl']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(out).toHaveLength(4);
    expect(Object.keys(out[0])).toEqual(['index', 'verdict', 'drop_reason', 'dropped_at', 'allowed_by', 'denied_by']);
    expect(out[0]).toMatchObject({ index: 0, verdict: 'FORWARDED', allowed_by: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'api', file: 'policies/api.yaml', line: 11 }] });
    expect(Object.keys(out[0].allowed_by[0])).toEqual(['kind', 'namespace', 'name', 'rule', 'file', 'line']);
    expect(out[1]).toMatchObject({ index: 1, verdict: 'DROPPED', drop_reason: 'POLICY_DENIED', dropped_at: 'ingress', allowed_by: [], denied_by: [] });
    expect(out[2]).toMatchObject({ index: 2, verdict: 'DROPPED', drop_reason: 'POLICY_DENY', dropped_at: 'egress' });
    expect(out[2].denied_by[0]).toMatchObject({ name: 'api', line: 19 });
    expect(out[3]).toMatchObject({ index: 3, verdict: 'FORWARDED' });
  });

  it('prints a table and a summary', async () => {
    const flows = join(dir, 'flows2.json');
    await writeFile(flows, [line('web', 'api', 8080), line('db', 'api', 8080), line('db', 'api', 9090)].join('\n'));
    const table = run(['--policies', 'policies', '--flows', flows, '--format', 'table']);
    expect(table.status).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^INDEX\s+VERDICT/);
    expect(rows[1]).toContain('shop/web');
    expect(rows[1]).toContain('api (policies/api.yaml:11)');
    expect(rows[2]).toContain('POLICY_DENIED');
    const summary = run(['--policies', 'policies', '--flows', flows]);
    expect(summary.status).toBe(0);
    expect(summary.stdout).toContain('flows judged: 3');
    expect(summary.stdout).toMatch(/DROPPED:\s+2/);
    expect(summary.stdout).toMatch(/2\s+shop\/db → shop\/api\s+TCP\/8080, TCP\/9090\s+POLICY_DENIED/);
  });

  it('reads gzip from stdin', async () => {
    const r = run(['--policies', 'policies', '--flows', '-', '--format', 'jsonl'], gzipSync(line('web', 'api', 8080) + '\n'));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('FORWARDED');
  });

  it('stops at a malformed line with file:line and exit 1, or skips it with --skip-invalid', async () => {
    const flows = join(dir, 'bad.json');
    await writeFile(flows, [line('web', 'api', 8080), '{"flow": ', line('db', 'api', 8080)].join('\n'));
    const r = run(['--policies', 'policies', '--flows', flows, '--format', 'jsonl']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${flows.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: error: not JSON`));
    expect(r.stderr).not.toMatch(/at .*\.js/);
    const skipped = run(['--policies', 'policies', '--flows', flows, '--format', 'jsonl', '--skip-invalid']);
    expect(skipped.status).toBe(0);
    expect(skipped.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(skipped.stderr).toContain('1 malformed lines');
  });

  it('defect: writes every verdict judged before a malformed line, then the error, for every format and engine', async () => {
    // Regression: output was buffered and dropped at the error (jsonl lost the last partial chunk, table everything).
    const flows = join(dir, 'good-then-bad.json');
    await writeFile(flows, `${Array.from({ length: 300 }, (_, i) => line(i % 3 === 0 ? 'db' : 'web', 'api', 8080)).join('\n')}\n{"flow": oops\n`);
    const where = new RegExp(`^${flows.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:301:\\d+: error: not JSON.*\\[flows-invalid-json\\]\n$`);
    for (const engine of ['reference', 'tables']) {
      const jsonl = run(['--policies', 'policies', '--flows', flows, '--format', 'jsonl', '--engine', engine]);
      expect(jsonl.status, engine).toBe(1);
      const verdicts = jsonl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(verdicts.map((v) => v.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(verdicts.filter((v) => v.verdict === 'DROPPED')).toHaveLength(100);
      expect(jsonl.stderr).toMatch(where);
    }
    const table = run(['--policies', 'policies', '--flows', flows, '--format', 'table']);
    expect(table.status).toBe(1);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^INDEX\s+VERDICT/);
    expect(rows.slice(1).map((r) => Number(r.split(' ')[0]))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(table.stderr).toMatch(where);
    const summary = run(['--policies', 'policies', '--flows', flows, '--format', 'summary']);
    expect(summary.status).toBe(1);
    expect(summary.stdout).toContain('flows judged: 300');
    expect(summary.stdout).toMatch(/DROPPED:\s+100/);
    expect(summary.stderr).toMatch(where);
  });

  it('defect: skips blank lines and refuses a gzip input past --max-decompressed with its own code', async () => {
    const good = `${line('web', 'api', 8080)}\n`;
    const blanks = join(dir, 'blanks.json');
    await writeFile(blanks, Buffer.concat([Buffer.alloc(1 << 20, 0x0a), Buffer.from(good)]));
    const ok = run(['--policies', 'policies', '--flows', blanks, '--format', 'jsonl']);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trimEnd().split('\n')).toHaveLength(1);
    const bomb = join(dir, 'bomb.json.gz');
    await writeFile(bomb, gzipSync(Buffer.concat([Buffer.from(good.repeat(3)), Buffer.alloc(8 << 20, 0x0a)]), { level: 9 }));
    const refused = run(['--policies', 'policies', '--flows', bomb, '--format', 'jsonl', '--max-decompressed', '1MiB']);
    expect(refused.status).toBe(1);
    expect(refused.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).index)).toEqual([0, 1, 2]);
    expect(refused.stderr).toMatch(/bomb\.json\.gz:\d+:1: error: gzip data decompresses to more than 1 MiB.*\[flows-decompressed-too-large\]\n$/);
    const readAll = run(['--policies', 'policies', '--flows', bomb, '--format', 'jsonl', '--max-decompressed=9MiB']);
    expect(readAll.status).toBe(0);
    expect(readAll.stdout.trimEnd().split('\n')).toHaveLength(3);
    for (const bad of ['0', '1x', '-5', 'lots']) {
      const usage = run(['--policies', 'policies', '--flows', bomb, `--max-decompressed=${bad}`]);
      expect(usage.status, bad).toBe(2);
      expect(usage.stderr).toContain('--max-decompressed takes a size');
    }
  });

  it('prints policy errors like validate and exits 1 without simulating', async () => {
    const flows = join(dir, 'one.json');
    await writeFile(flows, line('web', 'api', 8080));
    const r = run(['--policies', 'bad-policies', '--flows', flows, '--format', 'jsonl']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad-policies\/bad\.yaml:\d+:\d+: error: .*\[[a-z0-9.-]+\]/);
  });

  it('exits 2 for usage and I/O problems', () => {
    expect(run(['--flows', 'x.json']).status).toBe(2);
    expect(run(['--policies', 'policies', '--flows', 'x.json', '--engine', 'warp']).status).toBe(2);
    expect(run(['--policies', 'policies', '--flows', 'x.json', '--format', 'xml']).status).toBe(2);
    const missing = run(['--policies', 'policies', '--flows', join(dir, 'missing.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('missing.json');
  });

  it('parses its options like the other commands: lists take every following path, --opt=value, --help', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeFile(a, `${line('web', 'api', 8080)}\n`);
    await writeFile(b, `${line('db', 'api', 8080)}\n${line('web', 'api', 8080)}\n`);
    const spread = run(['--policies', 'policies', '--flows', a, b, '--format', 'jsonl']);
    expect(spread.status).toBe(0);
    const repeated = run(['--flows', a, '--flows', b, '--format=jsonl', '--policies=policies']);
    expect(repeated.status).toBe(0);
    expect(repeated.stdout).toBe(spread.stdout);
    expect(spread.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).verdict)).toEqual(['FORWARDED', 'DROPPED', 'FORWARDED']);
    // stdin as one of the flow files, between others.
    const stdin = run(['--policies', 'policies', '--flows', a, '-', '--format', 'jsonl'], readFileSync(b));
    expect(stdin.stdout).toBe(spread.stdout);
    const skip = run(['--policies', 'policies', '--flows', a, '--skip-invalid', '--format', 'summary']);
    expect(skip.status).toBe(0);
    expect(skip.stdout).toContain('flows judged: 1');

    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: palisade simulate --policies DIR --flows FILE...');
    for (const bad of [
      ['--policies', 'policies', '--flows', a, '--format', 'jsonl', 'stray'],
      ['--policies', 'policies', '--flows'],
      ['--policies', 'policies', '--flows', a, '--colour'],
      ['--policies', 'policies', '--flows', '-', '-'],
      ['--policies', 'policies'],
    ]) {
      const r = run(bad);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/at .*\.js/);
    }
    expect(run(['--policies', 'policies', '--flows', a, '--format', 'jsonl', 'stray']).stderr).toContain("unexpected argument 'stray'");
    expect(run(['--policies', 'policies', '--flows', a, '--colour']).stderr).toContain('--colour');
  });

  it('simulates the template repository with its inventory', () => {
    const r = spawnSync(process.execPath, [cli, 'simulate', '--policies', 'policies', '--flows', 'flows/recorded.json', '--inventory', 'inventory.json', '--format', 'jsonl'], {
      encoding: 'utf8',
      cwd: template,
      maxBuffer: 64 << 20,
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const flowLines = readFileSync(join(template, 'flows/recorded.json'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toHaveLength(flowLines);
    const verdicts = lines.map((l) => JSON.parse(l).verdict);
    expect(verdicts).toContain('FORWARDED');
    expect(verdicts).toContain('DROPPED');
  });
});
