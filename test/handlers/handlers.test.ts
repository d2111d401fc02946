/**
 * The stage handlers on a real Git repository (the template's policies, flows and palisade.yaml): a pull request
 * that breaks a recorded connection fails with the annotation on the rule that no longer allows it; a brand-new
 * policy that isolates a pod is annotated on its endpointSelector; policy and gate-config errors fail with their
 * positions; a push publishes once, and the same commit (or an older one) again is a no-op that says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPem, parseSigningKey, verifyBundle, trustOfKey } from '../../pipeline/core/bundle/index.js';
import { onPullRequest, onPush } from '../../pipeline/handlers/index.js';
import { FsBundleStore, peekBundle } from '../../pipeline/stores/index.js';
import { PolicyRepo } from './policy-repo.js';

let repo: PolicyRepo;
const pem = generateSigningKeyPem();
const key = parseSigningKey(pem.privatePem, 'test');

beforeAll(() => {
  repo = new PolicyRepo();
  repo.onBranch('break-cache', 'main', () => repo.replace('policies/data/redis.yaml', 'port: "6379"', 'port: "6380"'));
  repo.onBranch('broken', 'main', () => repo.replace('policies/data/redis.yaml', 'protocol: TCP', 'protocol: TPC'));
  repo.onBranch('cosmetic', 'main', () => repo.replace('policies/data/redis.yaml', 'cache: only the shop API may use redis', 'cache: the shop API only'));
  // Base without the payments policy (its pods unselected), head adds a new policy that isolates them.
  repo.onBranch('no-payments-policy', 'main', () => {
    repo.remove('policies/payments/payments.yaml');
    const baseline = repo.read('policies/baseline.yaml').split('\n---\n');
    repo.write('policies/baseline.yaml', baseline.filter((doc) => !doc.includes('namespace: payments')).join('\n---\n'));
  });
  repo.onBranch('lockdown', 'no-payments-policy', () =>
    repo.write(
      'policies/payments/lockdown.yaml',
      ['apiVersion: cilium.io/v2', 'kind: CiliumNetworkPolicy', 'metadata:', '  name: lockdown', '  namespace: payments', 'spec:', '  endpointSelector:', '    matchLabels:', '      app: payments', '  ingress:', '    - fromEndpoints:', '        - matchLabels:', '            app: auditor', ''].join('\n'),
    ),
  );
  repo.onBranch('bad-gate', 'main', () => repo.write('palisade.yaml', 'gate:\n  newlyBlocked: nope\n'));
}, 60_000);

afterAll(() => repo?.destroy());

describe('onPullRequest', () => {
  it('fails a pull request that breaks a recorded connection, annotating the rule that no longer allows it', async () => {
    const r = await onPullRequest({ repo: repo.dir, base: 'main', head: 'break-cache' });
    expect(r.conclusion).toBe('failure');
    expect(r.headCommit).toBe(repo.rev('break-cache'));
    expect(r.title).toMatch(/^Blocks \d+ recorded flows$/);
    const line = repo.lineOf('policies/data/redis.yaml', '- fromEndpoints:');
    expect(r.annotations).toEqual([
      expect.objectContaining({ path: 'policies/data/redis.yaml', line, level: 'failure', message: expect.stringContaining('no longer allows 1 changed connection:\nshop/api → data/cache TCP/6379') }),
    ]);
    expect(r.summary).toContain('**fails** the check (gate: newlyBlocked fail)');
    expect(r.summary).toContain('flows/recorded.json at ');
    expect(r.comment).toContain('```mermaid\ngraph LR\n');
    expect(r.comment).toContain('n0 -->|"blocked TCP/6379');
  }, 60_000);

  it('turns the failure into a warning when the pull request carries the override label', async () => {
    const r = await onPullRequest({ repo: repo.dir, base: 'main', head: 'break-cache', labels: ['palisade/accept-breakage'] });
    expect(r.conclusion).toBe('neutral');
    expect(r.annotations[0]?.level).toBe('warning');
    expect(r.gate.applied).toEqual(['label `palisade/accept-breakage`']);
  }, 60_000);

  it('passes a change that touches no recorded traffic', async () => {
    const r = await onPullRequest({ repo: repo.dir, base: 'main', head: 'cosmetic' });
    expect(r.conclusion).toBe('success');
    expect(r.title).toMatch(/^No change to \d+ recorded flows$/);
    expect(r.annotations).toEqual([]);
  }, 60_000);

  it('annotates the endpointSelector of a brand-new policy that puts a pod into default deny', async () => {
    const r = await onPullRequest({ repo: repo.dir, base: 'no-payments-policy', head: 'lockdown' });
    expect(r.conclusion).toBe('failure');
    repo.git('switch', '-q', 'lockdown');
    // The model keeps the selector's own position: its first line, right under `endpointSelector:`.
    const selectorLine = repo.lineOf('policies/payments/lockdown.yaml', 'endpointSelector:') + 1;
    repo.git('switch', '-q', 'main');
    const a = r.annotations.find((x) => x.path === 'policies/payments/lockdown.yaml');
    expect(a).toBeDefined();
    expect(a!.line).toBe(selectorLine);
    expect(a!.message).toContain('is new and puts the pods it selects into default deny');
    expect(a!.message).toContain('shop/api → payments/payments TCP/8443');
  }, 60_000);

  it('fails on policy errors with their positions, simulating nothing', async () => {
    const r = await onPullRequest({ repo: repo.dir, base: 'main', head: 'broken' });
    expect(r.conclusion).toBe('failure');
    expect(r.report).toBeNull();
    expect(r.title).toMatch(/error.* in the policies$/);
    expect(r.annotations.some((a) => a.path === 'policies/data/redis.yaml' && a.level === 'failure' && a.line > 0)).toBe(true);
  }, 60_000);

  it('reads the gate from the base: a pull request cannot loosen its own gate, and a bad gate on main fails with its position', async () => {
    repo.onBranch('loosen-gate', 'break-cache', () => repo.write('palisade.yaml', 'flows: [flows/recorded.json]\ninventory: [inventory.json]\ngate:\n  newlyBlocked: allow\n'));
    const loosened = await onPullRequest({ repo: repo.dir, base: 'main', head: 'loosen-gate' });
    expect(loosened.conclusion).toBe('failure');
    const bad = await onPullRequest({ repo: repo.dir, base: 'bad-gate', head: 'break-cache' });
    expect(bad.conclusion).toBe('failure');
    expect(bad.annotations).toEqual([expect.objectContaining({ path: 'palisade.yaml', line: 2, title: 'gate-config-invalid' })]);
  }, 60_000);
});

describe('onPush', () => {
  let storeDir: string;
  beforeAll(() => {
    storeDir = mkdtempSync(join(tmpdir(), 'palisade-push-store-'));
  });
  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  it('publishes a commit once; the same commit again, or an older one, is a no-op that says so', async () => {
    const store = new FsBundleStore(storeDir);
    const first = repo.rev('main');
    const a = await onPush({ repo: repo.dir, commit: 'main', store, keys: [key] });
    expect(a.kind).toBe('published');
    expect(a.commit).toBe(first);
    const again = await onPush({ repo: repo.dir, commit: first, store, keys: [key] });
    expect(again).toMatchObject({ kind: 'already-published', commit: first, latest: { commit: first, descriptor: { serial: 1 } } });

    const second = repo.onBranch('main', 'main', () => repo.replace('policies/data/redis.yaml', 'cache: only the shop API may use redis', 'cache: the API only'));
    const b = await onPush({ repo: repo.dir, commit: second, store, keys: [key] });
    expect(b.kind).toBe('published');
    const late = await onPush({ repo: repo.dir, commit: first, store, keys: [key] });
    expect(late).toMatchObject({ kind: 'superseded', latest: { commit: second } });

    const history = await store.list();
    expect(history.map((d) => d.serial)).toEqual([1, 2]);
    const bytes = await store.get(history[1]!.digest);
    expect(peekBundle(bytes).source.commit).toBe(second);
    const v = await verifyBundle(bytes, { trust: trustOfKey(key), now: new Date() });
    expect(v.manifest.parentDigest).toBe(peekBundle(await store.get(history[0]!.digest)).manifestDigest);
    // The caller's work tree is untouched and no worktree is left behind.
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(repo.git('worktree', 'list').trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('publishes nothing for a commit whose policies have errors', async () => {
    const store = new FsBundleStore(mkdtempSync(join(tmpdir(), 'palisade-push-bad-')));
    await expect(onPush({ repo: repo.dir, commit: 'broken', store, keys: [key] })).rejects.toMatchObject({ code: 'bundle-build-policy-errors' });
    expect(await store.latest()).toBeUndefined();
  }, 60_000);
});
