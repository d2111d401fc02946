/**
 * `palisade diff` end to end: a real Git repository made here, the template's policies and recorded flows, commits
 * that break, deny and newly allow recorded connections, and the built CLI (`bin/palisade`, run `npm run build`
 * first) asked to compare them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffReport } from '../../pipeline/diff/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TEMPLATE = join(ROOT, 'policy-repo-template');
const FLOWS = join(TEMPLATE, 'flows', 'recorded.json');
const INVENTORY = join(TEMPLATE, 'inventory.json');

let repo: string;

// The deny policy's lines up to its rule; the rule's position is the `- toEndpoints:` item, the last line here.
const DENY_FILE_HEAD = [
  '# Payments are frozen during the migration.',
  'apiVersion: cilium.io/v2',
  'kind: CiliumNetworkPolicy',
  'metadata:',
  '  name: freeze-payments',
  '  namespace: shop',
  'spec:',
  '  endpointSelector:',
  '    matchLabels:',
  '      app: api',
  '  egressDeny:',
  '    - toEndpoints:',
];

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' },
  });
}

function palisade(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'palisade'), ...args], { encoding: 'utf8', cwd: repo });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function diffJson(base: string, head: string): DiffReport {
  const r = palisade('diff', '--base', base, '--head', head, '--flows', FLOWS, '--inventory', INVENTORY, '--format', 'json');
  expect(r.stderr).toBe('');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as DiffReport;
}

/** Commits `edit` on a new branch from main. */
function branch(name: string, edit: () => void): void {
  git('switch', '-q', '-c', name, 'main');
  edit();
  git('add', '-A');
  git('commit', '-qm', name);
  git('switch', '-q', 'main');
}

function replaceIn(rel: string, from: string, to: string): void {
  const path = join(repo, rel);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

/** 1-based line of the first line of `rel` (in the working copy at main) containing `needle` after line `after`. */
function lineOf(rel: string, needle: string, after = 0): number {
  const lines = readFileSync(join(repo, rel), 'utf8').split('\n');
  const i = lines.findIndex((l, n) => n >= after && l.includes(needle));
  expect(i).toBeGreaterThanOrEqual(0);
  return i + 1;
}

interface RawFlow {
  time: string;
  Type: string;
  l7?: { http?: { method: string; url: string } };
  IP: { source: string; destination: string };
  l4: { TCP?: { source_port: number; destination_port: number } };
  source: { pod_name?: string };
  destination: { pod_name?: string };
  is_reply: boolean;
  verdict: string;
}
const recorded: RawFlow[] = readFileSync(FLOWS, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { flow: RawFlow }).flow);

/** The recorded flows of a connection, counted straight from the Hubble JSON (requests and their replies). */
function connectionFlows(client: string, server: string, port: number): RawFlow[] {
  return recorded.filter((f) => {
    const s = f.source.pod_name ?? '';
    const d = f.destination.pod_name ?? '';
    return f.is_reply
      ? s.startsWith(`${server}-`) && d.startsWith(`${client}-`) && f.l4.TCP?.source_port === port
      : s.startsWith(`${client}-`) && d.startsWith(`${server}-`) && f.l4.TCP?.destination_port === port;
  });
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'palisade-diff-'));
  git('init', '-q', '-b', 'main');
  cpSync(join(TEMPLATE, 'policies'), join(repo, 'policies'), { recursive: true });
  writeFileSync(join(repo, 'README.md'), 'policies\n');
  git('add', '-A');
  git('commit', '-qm', 'starter policies');

  // Redis now listens on 6380 only: the API's recorded connections to 6379 break at the cache's ingress.
  branch('break-cache', () => replaceIn('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));

  // An explicit deny: the API may no longer call payments.
  branch('deny-payments', () =>
    writeFileSync(
      join(repo, 'policies/shop/deny-payments.yaml'),
      [
        ...DENY_FILE_HEAD,
        '        - matchLabels:',
        '            k8s:io.kubernetes.pod.namespace: payments',
        '',
      ].join('\n'),
    ),
  );

  // The frontend may now query postgres directly: its egress and postgres' ingress both allow it.
  branch('allow-frontend-db', () => {
    replaceIn(
      'policies/shop/frontend.yaml',
      '  egress:\n',
      '  egress:\n    - toEndpoints:\n        - matchLabels:\n            k8s:io.kubernetes.pod.namespace: data\n            app: db\n      toPorts:\n        - ports:\n            - port: "5432"\n              protocol: TCP\n',
    );
    replaceIn(
      'policies/data/postgres.yaml',
      '  ingress:\n',
      '  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: shop\n          podSelector:\n            matchLabels:\n              app: frontend\n      ports:\n        - protocol: TCP\n          port: 5432\n',
    );
  });

  // The API's HTTP rules removed: requests they refused are now allowed, and nothing goes through the proxy.
  branch('no-l7', () => {
    const path = join(repo, 'policies/shop/api.yaml');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/ {10}rules:\n {12}http:\n(?: {14}.*\n)+/, ''));
  });

  // The redis policy deleted: nothing in head points at the change.
  branch('delete-redis', () => rmSync(join(repo, 'policies/data/redis.yaml')));

  // A head with a policy error.
  branch('broken', () => replaceIn('policies/data/redis.yaml', 'protocol: TCP', 'protocol: TPC'));

  // A change that touches no recorded traffic.
  branch('cosmetic', () => replaceIn('policies/data/redis.yaml', 'cache: only the shop API may use redis', 'cache: the shop API only'));
});

afterAll(() => {
  if (repo) rmSync(repo, { recursive: true, force: true });
});

describe('palisade diff on a real repository', () => {
  it('reports a broken recorded connection as newly blocked, with the rule that allowed it before', () => {
    const report = diffJson('main', 'break-cache');
    const expected = connectionFlows('api', 'cache', 6379);
    expect(expected.length).toBeGreaterThan(10);
    expect(report.flows.total).toBe(recorded.length);
    expect(report.flows).toMatchObject({ changed: expected.length, newly_blocked: expected.length, newly_allowed: 0 });
    expect(report.connections).toHaveLength(1);
    const c = report.connections[0]!;
    expect(c).toMatchObject({
      change: 'newly-blocked',
      source: { kind: 'pod', namespace: 'shop', workload: 'api', name: 'shop/api' },
      destination: { kind: 'pod', namespace: 'data', workload: 'cache', name: 'data/cache' },
      protocol: 'TCP',
      port: 6379,
      port_label: 'TCP/6379',
      flows: expected.length,
    });
    const times = expected.map((f) => f.time).sort();
    expect(c.first_seen).toBe(times[0]);
    expect(c.last_seen).toBe(times.at(-1));
    expect(c.head).toMatchObject({ verdict: 'DROPPED', drop_reasons: ['POLICY_DENIED'], dropped_at: ['ingress'], denied_by: [] });
    expect(c.base.verdict).toBe('FORWARDED');
    const redisRule = lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(c.base.allowed_by).toContainEqual(
      expect.objectContaining({ kind: 'CiliumNetworkPolicy', namespace: 'data', name: 'redis', file: 'policies/data/redis.yaml', line: redisRule }),
    );
    // The redis rule no longer matches anything recorded.
    expect(report.unmatched_rules).toContainEqual(expect.objectContaining({ file: 'policies/data/redis.yaml', line: redisRule }));
    expect(report.base.commit).toBe(git('rev-parse', 'main').trim());
    expect(report.head.commit).toBe(git('rev-parse', 'break-cache').trim());
    expect(report.input).toMatchObject({ files: 1, flows: recorded.length, invalid: 0 });

    // The edited redis rule in head is where the change is, and where GitHub gets the annotation.
    expect(c.changed_rules).toEqual([expect.objectContaining({ name: 'redis', file: 'policies/data/redis.yaml', line: redisRule })]);
    const gh = palisade('diff', '--base', 'main', '--head', 'break-cache', '--flows', FLOWS, '--inventory', INVENTORY, '--format', 'github');
    expect(gh.stdout).toContain(`::warning file=policies/data/redis.yaml,line=${redisRule},title=Palisade%3A newly blocked%3A ${expected.length} recorded flows::`);
    expect(gh.stdout).toContain('no longer allows 1 changed connection:%0Ashop/api → data/cache TCP/6379');

    const md = palisade('diff', '--base', 'main', '--head', 'break-cache', '--flows', FLOWS, '--inventory', INVENTORY);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain(`- no longer allowed by the edited \`policies/data/redis.yaml:${redisRule}\` CiliumNetworkPolicy data/redis`);
    expect(md.stdout).toContain(`**This change newly blocks ${expected.length} flows in 1 connection.**`);
    expect(md.stdout).toContain(`| shop/api | data/cache | TCP/6379 | ${expected.length} |`);
    expect(md.stdout).toContain(`\`policies/data/redis.yaml:${redisRule}\` data/redis`);
  });

  it('names the deny rule that newly blocks a connection, and annotates it for GitHub', () => {
    const report = diffJson('main', 'deny-payments');
    const expected = connectionFlows('api', 'payments', 8443);
    const denyLine = DENY_FILE_HEAD.length;
    expect(report.connections).toHaveLength(1);
    const c = report.connections[0]!;
    expect(c).toMatchObject({ change: 'newly-blocked', source: { name: 'shop/api' }, destination: { name: 'payments/payments' }, port: 8443, flows: expected.length });
    expect(c.head).toMatchObject({ drop_reasons: ['POLICY_DENY'], dropped_at: ['egress'] });
    expect(c.head.denied_by).toEqual([
      expect.objectContaining({ name: 'freeze-payments', namespace: 'shop', file: 'policies/shop/deny-payments.yaml', line: denyLine }),
    ]);

    const gh = palisade('diff', '--base', 'main', '--head', 'deny-payments', '--flows', FLOWS, '--inventory', INVENTORY, '--format', 'github');
    expect(gh.code).toBe(0);
    expect(gh.stdout).toContain(`::warning file=policies/shop/deny-payments.yaml,line=${denyLine},title=Palisade%3A newly blocked%3A ${expected.length} recorded flows::`);
    expect(gh.stdout).toContain(`::notice title=Palisade traffic impact::This change newly blocks ${expected.length} flows in 1 connection.`);
  });

  it('reports newly allowed connections with the head rules that allow them', () => {
    const report = diffJson('main', 'allow-frontend-db');
    const expected = connectionFlows('frontend', 'db', 5432);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.every((f) => f.verdict === 'DROPPED')).toBe(true);
    expect(report.flows).toMatchObject({ newly_allowed: expected.length, newly_blocked: 0 });
    const c = report.connections.find((x) => x.change === 'newly-allowed')!;
    expect(c).toMatchObject({ source: { name: 'shop/frontend' }, destination: { name: 'data/db' }, port: 5432, flows: expected.length });
    expect(c.base).toMatchObject({ verdict: 'DROPPED', dropped_at: ['egress'] });
    git('switch', '-q', 'allow-frontend-db');
    const egressRule = lineOf('policies/shop/frontend.yaml', '- toEndpoints:', lineOf('policies/shop/frontend.yaml', '  egress:'));
    const ingressRule = lineOf('policies/data/postgres.yaml', '- from:');
    git('switch', '-q', 'main');
    expect(c.head.allowed_by).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'policies/shop/frontend.yaml', line: egressRule }),
        expect.objectContaining({ file: 'policies/data/postgres.yaml', line: ingressRule }),
      ]),
    );
    const md = palisade('diff', '--base', 'main', '--head', 'allow-frontend-db', '--flows', FLOWS, '--inventory', INVENTORY);
    expect(md.stdout).toContain(`**This change newly allows ${expected.length} flows in 1 connection.**`);
  });

  it('reports L7 decisions: refused requests newly allowed, and flows no longer inspected', () => {
    const report = diffJson('main', 'no-l7');
    const refused = recorded.filter((f) => f.Type === 'L7' && f.verdict === 'DROPPED' && f.l7?.http);
    expect(refused.length).toBeGreaterThan(0);
    const allowed = report.connections.filter((c) => c.change === 'newly-allowed');
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ source: { name: 'shop/frontend' }, destination: { name: 'shop/api' }, port: 8080, flows: refused.length });
    expect(allowed[0]!.base).toMatchObject({ verdict: 'DROPPED', dropped_at: ['ingress'], l7_proxied: true });
    const paths = refused.map((f) => `${f.l7!.http!.method} ${new URL(f.l7!.http!.url).pathname}`);
    expect(allowed[0]!.sample_requests).toEqual([...new Set(paths)].sort());
    const inspected = report.connections.filter((c) => c.change === 'l7-changed');
    expect(inspected).toHaveLength(1);
    expect(inspected[0]!.base.l7_proxied).toBe(true);
    expect(inspected[0]!.head.l7_proxied).toBe(false);
    expect(report.flows.l7_changed).toBe(inspected[0]!.flows);
  });

  it('says plainly when the allowing policy is gone from head', () => {
    const report = diffJson('main', 'delete-redis');
    const c = report.connections.find((x) => x.destination.name === 'data/cache' && x.port === 6379)!;
    expect(c.change).toBe('newly-blocked');
    expect(c.changed_rules).toEqual([]);
    const gh = palisade('diff', '--base', 'main', '--head', 'delete-redis', '--flows', FLOWS, '--format', 'github');
    expect(gh.stdout).toMatch(/^::warning title=Palisade%3A \d+ changed connections? without a head rule to point at::.*shop\/api → data\/cache TCP\/6379/m);
  });

  it('says so when no recorded flow changes', () => {
    const report = diffJson('main', 'cosmetic');
    expect(report.flows.changed).toBe(0);
    expect(report.connections).toEqual([]);
    const md = palisade('diff', '--base', 'main', '--head', 'cosmetic', '--flows', FLOWS);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain(`This change does not change the verdict of any of the ${recorded.length} recorded flows.`);
  });

  it('never touches the work tree, the index or HEAD', () => {
    writeFileSync(join(repo, 'policies/shop/api.yaml'), 'uncommitted: edit\n');
    const status = git('status', '--porcelain=v1');
    const head = git('rev-parse', 'HEAD');
    const index = readFileSync(join(repo, '.git', 'index'));
    diffJson('main', 'break-cache');
    expect(git('status', '--porcelain=v1')).toBe(status);
    expect(git('rev-parse', 'HEAD')).toBe(head);
    expect(readFileSync(join(repo, '.git', 'index')).equals(index)).toBe(true);
    expect(readFileSync(join(repo, 'policies/shop/api.yaml'), 'utf8')).toBe('uncommitted: edit\n');
    git('checkout', '-q', '--', 'policies/shop/api.yaml');
  });

  it('exits 1 with file:line diagnostics when the head policies have errors', () => {
    const r = palisade('diff', '--base', 'main', '--head', 'broken', '--flows', FLOWS);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^policies\/data\/redis\.yaml:\d+:\d+: error: .*TPC/m);
    expect(r.stderr).toContain('the head policies (broken) have 1 error');
    // A broken base is compared without its invalid policies.
    const back = palisade('diff', '--base', 'broken', '--head', 'main', '--flows', FLOWS, '--format', 'json');
    expect(back.code).toBe(0);
    expect(back.stderr).toContain('warning: the base policies (broken) have 1 error');
  });

  it('exits 2 for usage errors and input it cannot read', () => {
    const cases: [string[], RegExp][] = [
      [['--base', 'main', '--head', 'nope', '--flows', FLOWS], /unknown ref 'nope'/],
      [['--base', 'main', '--head', 'main', '--policies', 'missing', '--flows', FLOWS], /no directory 'missing'/],
      [['--base', 'main', '--head', 'main', '--repo', tmpdir(), '--flows', FLOWS], /not a Git repository/],
      [['--base', 'main', '--head', 'main', '--flows', join(repo, 'absent.json')], /cannot read .*absent\.json/],
      [['--base', 'main', '--head', 'main'], /--flows is required/],
      [['--base', 'main', '--flows', FLOWS], /--base and --head are required/],
      [['--base', 'main', '--head', 'main', '--flows', FLOWS, '--format', 'html'], /--format must be one of/],
      [['--base', 'main', '--head', 'main', 'stray', '--flows', FLOWS], /unexpected argument 'stray'/],
    ];
    for (const [args, message] of cases) {
      const r = palisade('diff', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('takes several flow files after one --flows, and a malformed line is an input error with file:line', () => {
    const bad = join(repo, 'bad.json');
    writeFileSync(bad, '{"flow": {"time": "2026-11-20T09:00:00Z"\n');
    const two = palisade('diff', '--base', 'main', '--head', 'break-cache', '--flows', FLOWS, FLOWS, '--format', 'json');
    expect(two.code).toBe(0);
    expect((JSON.parse(two.stdout) as DiffReport).flows.total).toBe(2 * recorded.length);
    const r = palisade('diff', '--base', 'main', '--head', 'break-cache', '--flows', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:1:`);
    const skipped = palisade('diff', '--base', 'main', '--head', 'break-cache', '--flows', FLOWS, bad, '--skip-invalid', '--format', 'json');
    expect(skipped.code).toBe(0);
    expect((JSON.parse(skipped.stdout) as DiffReport).input).toMatchObject({ invalid: 1, flows: recorded.length });
  });
});
