/**
 * `palisade compile` end to end on real inputs: the starter policy repository with its recorded Hubble flows and
 * inventory, the real BPF object, the real loader, evaluator and table compiler. Checks the bundle verifies, carries
 * probes judged by the reference evaluator (edge cases around each rule included), reproduces byte for byte, and
 * that policies with errors are refused with nothing written.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as compile } from '../../pipeline/cli/commands/compile.js';
import { run as keygen } from '../../pipeline/cli/commands/keygen.js';
import { run as verify } from '../../pipeline/cli/commands/verify.js';
import { captureOutput, cli, printed } from './capture.js';
import { verifyBundle, trustOfKey, parsePublicKey, parseSigningKey, parseProbeVectors, readBundleContents, type ProbeVector } from '../../pipeline/core/bundle/index.js';
import { REPO_ROOT, makePolicyRepo } from './fixtures.js';
import { buildBundleFromDir } from '../../pipeline/bundle-build/index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-compile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEMPLATE = join(REPO_ROOT, 'policy-repo-template');

captureOutput();

const fixed = ['--created-at', '2026-11-28T10:00:00Z', '--serial', '42'];

function probesOf(components: ReadonlyMap<string, Uint8Array>): ProbeVector[] {
  return parseProbeVectors(components.get('probes.jsonl')!);
}

describe('palisade compile', () => {
  it('compiles the starter repository with recorded flows into a signed, verifiable bundle', async () => {
    expect(await cli(keygen, ['--out', join(dir, 'ci')])).toBe(0);
    printed.clear();
    const file = join(dir, 'shop.bundle');
    const argv = ['--policies', join(TEMPLATE, 'policies'), '--flows', join(TEMPLATE, 'flows/recorded.json'), '--inventory', join(TEMPLATE, 'inventory.json'), '--out', file, '--key', join(dir, 'ci.key'), ...fixed];
    expect(await cli(compile, argv), printed.err).toBe(0);
    expect(printed.out).toMatch(/^wrote .*shop\.bundle: serial 42, manifest sha256:[0-9a-f]{64}, .* components policy-model\.json palisade\.bpf\.o probes\.jsonl tables\.json, signed by /);
    const pub = parsePublicKey(readFileSync(join(dir, 'ci.pub'), 'utf8'), 'ci.pub');
    const v = await verifyBundle(readFileSync(file), { trust: trustOfKey(pub), now: new Date('2026-11-29T00:00:00Z') });
    expect(v.manifest.serial).toBe(42);
    expect(v.manifest.source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Buffer.from(v.components.get('palisade.bpf.o')!).equals(readFileSync(join(REPO_ROOT, 'bpf/build/palisade.bpf.o')))).toBe(true);
    const model = JSON.parse(new TextDecoder().decode(v.components.get('policy-model.json'))) as { specs: unknown[] };
    expect(model.specs.length).toBeGreaterThan(0);
    const probes = probesOf(v.components);
    const recorded = probes.filter((p) => p.origin === 'recorded');
    expect(recorded.length).toBeGreaterThan(100);
    expect(probes.length).toBeGreaterThan(recorded.length);
    // Reader-local cache hints stay out of the bundle.
    expect(new TextDecoder().decode(v.components.get('probes.jsonl'))).not.toMatch(/identityKey|identityIndex/);
    probes.forEach((p, i) => {
      expect(p.flow.index).toBe(i);
      expect(p.verdict.index).toBe(i);
      expect(['FORWARDED', 'DROPPED']).toContain(p.verdict.verdict);
    });
    const contents = readBundleContents(v);
    expect(contents.model.specs.length).toBe(model.specs.length);
    expect(contents.probes).toHaveLength(probes.length);
    expect((contents.tables as { policy: unknown[] }).policy.length).toBeGreaterThan(0);
  });

  it('reproducibility: the same inputs give the same bytes', async () => {
    const repo = makePolicyRepo(dir);
    const argv = (o: string) => ['--policies', join(repo, 'policies'), '--flows', join(repo, 'flows/recorded.json'), '--out', join(dir, o), ...fixed];
    expect(await cli(compile, argv('r1.bundle'))).toBe(0);
    expect(await cli(compile, argv('r2.bundle'))).toBe(0);
    expect(readFileSync(join(dir, 'r1.bundle')).equals(readFileSync(join(dir, 'r2.bundle')))).toBe(true);
  });

  it('signs with the key in PALISADE_SIGNING_KEY', async () => {
    const key = parseSigningKey(readFileSync(join(dir, 'ci.key'), 'utf8'), 'ci.key');
    vi.stubEnv('PALISADE_SIGNING_KEY', readFileSync(join(dir, 'ci.key'), 'utf8'));
    expect(await cli(compile, ['--policies', join(TEMPLATE, 'policies'), '--out', join(dir, 'env.bundle'), ...fixed])).toBe(0);
    expect(printed.out).toContain(`signed by ${key.keyId.slice(0, 12)}`);
    // Flattened newlines (as some CI secret stores keep them), and the same key also given as a file: one signature.
    vi.stubEnv('PALISADE_SIGNING_KEY', readFileSync(join(dir, 'ci.key'), 'utf8').replace(/\n/g, '\\n'));
    printed.clear();
    expect(await cli(compile, ['--policies', join(TEMPLATE, 'policies'), '--out', join(dir, 'env2.bundle'), '--key', join(dir, 'ci.key'), ...fixed])).toBe(0);
    expect(printed.out).toMatch(new RegExp(`signed by ${key.keyId.slice(0, 12)}, expires`));
  });

  it('generates probes at the edges of every rule, judged by the reference evaluator', async () => {
    const pol = join(dir, 'edge-policies');
    mkdirSync(pol);
    writeFileSync(
      join(pol, 'web.yaml'),
      [
        'apiVersion: cilium.io/v2',
        'kind: CiliumNetworkPolicy',
        'metadata: {name: web, namespace: shop}',
        'spec:',
        '  endpointSelector: {matchLabels: {app: web}}',
        '  ingress:',
        '  - fromEndpoints: [{matchLabels: {app: client}}]',
        '    toPorts: [{ports: [{port: "8000", endPort: 8080, protocol: TCP}]}]',
        '  ingressDeny:',
        '  - fromEndpoints: [{matchLabels: {app: evil}}]',
        '',
      ].join('\n'),
    );
    const file = join(dir, 'edge.bundle');
    expect(await cli(compile, ['--policies', pol, '--out', file, '--key', join(dir, 'ci.key'), ...fixed]), printed.err).toBe(0);
    const pub = parsePublicKey(readFileSync(join(dir, 'ci.pub'), 'utf8'), 'ci.pub');
    const v = await verifyBundle(readFileSync(file), { trust: trustOfKey(pub), now: new Date('2026-11-29T00:00:00Z') });
    const probes = probesOf(v.components);
    const by = (what: string) => probes.find((p) => p.origin.endsWith(what))!;
    expect(by('peer 0 matching TCP 8000 first in').verdict.verdict).toBe('FORWARDED');
    expect(by('peer 0 matching TCP 8080 last in').verdict.verdict).toBe('FORWARDED');
    expect(by('peer 0 matching TCP 7999 below out').verdict.drop_reason).toBe('POLICY_DENIED');
    expect(by('peer 0 matching TCP 8081 above out').verdict.drop_reason).toBe('POLICY_DENIED');
    expect(by('peer 0 not matching TCP 8000 first in').verdict.drop_reason).toBe('POLICY_DENIED');
    const deny = probes.filter((p) => p.origin.includes('ingress-deny') && p.origin.includes('peer 0 matching'));
    expect(deny.length).toBeGreaterThan(0);
    for (const d of deny) expect(d.verdict.drop_reason).toBe('POLICY_DENY');
  });

  it('refuses policies with errors, lists them with file:line:col and writes nothing', async () => {
    const bad = join(dir, 'bad-policies');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'bad.yaml'),
      ['apiVersion: cilium.io/v2', 'kind: CiliumNetworkPolicy', 'metadata: {name: bad, namespace: shop}', 'spec:', '  endpointSelector: {}', '  egress:', '  - toCIDR: ["10.0.0.0/33"]', ''].join('\n'),
    );
    const file = join(dir, 'bad.bundle');
    expect(await cli(compile, ['--policies', bad, '--out', file, ...fixed])).toBe(1);
    expect(printed.err).toMatch(/bad\.yaml:\d+:\d+: error: /);
    expect(printed.err).toContain('no bundle written');
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('an explicit, signed rollback bundle passes the serial check that refuses a plain older one', async () => {
    const pol = join(TEMPLATE, 'policies');
    const key = join(dir, 'ci.key');
    const pub = join(dir, 'ci.pub');
    const at = ['--created-at', '2026-11-28T10:00:00Z'];
    expect(await cli(compile, ['--policies', pol, '--out', join(dir, 'old.bundle'), '--key', key, '--serial', '3', ...at])).toBe(0);
    expect(await cli(compile, ['--policies', pol, '--out', join(dir, 'rb.bundle'), '--key', key, '--serial', '3', '--rollback-of', '7', ...at])).toBe(0);
    printed.clear();
    // The agent runs serial 7: a plain serial-3 bundle is a rollback attack, the signed rollback of 7 is not.
    expect(await cli(verify, [join(dir, 'old.bundle'), '--trust', pub, '--min-serial', '7'])).toBe(16);
    expect(await cli(verify, [join(dir, 'rb.bundle'), '--trust', pub, '--min-serial', '7'])).toBe(0);
    expect(printed.out).toMatch(/serial 3, rollback of serial 7, .*next --min-serial 8 --min-rollback-of 7\n$/);
    // After a restart the agent re-verifies the rollback it runs with what the ok line said; serial 7 stays refused.
    expect(await cli(verify, [join(dir, 'rb.bundle'), '--trust', pub, '--min-serial', '8', '--min-rollback-of', '7'])).toBe(0);
    // A stale rollback (the agent has moved past serial 7 since) is refused too.
    expect(await cli(verify, [join(dir, 'rb.bundle'), '--trust', pub, '--min-serial', '10'])).toBe(16);
    expect(await cli(verify, [join(dir, 'rb.bundle'), '--trust', pub, '--min-serial', '8'])).toBe(16);
  });

  it('refuses to build a bundle larger than agents accept', async () => {
    await expect(buildBundleFromDir({ policiesDir: join(TEMPLATE, 'policies'), keys: [], maxBundleBytes: 64 * 1024, createdAt: new Date('2026-11-28T10:00:00Z') }))
      .rejects.toMatchObject({ code: 'bundle-build-too-large' });
  });
});
