/**
 * Bundle benchmark (`npm run bench -- bundle`): the cost of the agent's gate on a bundle of 10,000 policies. Builds
 * one signed bundle from generated policies (printed once), then alternates, ROUNDS times each, a full streaming
 * verification (`verifyBundleStream`: tar, signatures, manifest, every component digest) with the baseline of
 * SHA-256 over the same bytes (the least any integrity check must do), and prints the medians, throughput and the
 * ratio. Also times assembling the same components unsigned versus signed by 3 keys. Asserts nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundleFromDir } from '../pipeline/bundle-build/index.js';
import {
  assembleBundle,
  generateSigningKeyPem,
  parseSigningKey,
  trustOfRoot,
  createRootSigned,
  signRoot,
  verifyBundleStream,
  type BundleComponent,
} from '../pipeline/core/bundle/index.js';

const POLICIES = 10_000;
const ROUNDS = 7;
const CHUNK = 64 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function generatePolicies(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < POLICIES / 100; f++) {
    const docs: string[] = [];
    for (let i = 0; i < 100; i++) {
      const n = f * 100 + i;
      docs.push(
        [
          'apiVersion: cilium.io/v2',
          'kind: CiliumNetworkPolicy',
          `metadata: {name: svc-${n}, namespace: team-${n % 100}}`,
          'spec:',
          `  endpointSelector: {matchLabels: {app: svc-${n}}}`,
          '  ingress:',
          `  - fromEndpoints: [{matchLabels: {app: client-${(n * 7) % 500}}}]`,
          `    toPorts: [{ports: [{port: "${1024 + (n % 4000)}", protocol: TCP}]}]`,
          '  egress:',
          `  - toCIDR: ["10.${(n >> 8) & 255}.${n & 255}.0/24"]`,
          '    toPorts: [{ports: [{port: "443", protocol: TCP}]}]',
        ].join('\n'),
      );
    }
    await writeFile(join(dir, `p-${String(f).padStart(3, '0')}.yaml`), docs.join('\n---\n') + '\n');
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'palisade-bench-bundle-'));
  try {
    await generatePolicies(join(dir, 'policies'));
    const keys = [0, 1, 2].map(() => parseSigningKey(generateSigningKeyPem().privatePem, 'bench key'));
    const trust = trustOfRoot(signRoot(createRootSigned({ version: 1, expiresAt: new Date(Date.now() + 86_400_000), threshold: 2, keys }), keys));
    const t0 = performance.now();
    const built = await buildBundleFromDir({ policiesDir: join(dir, 'policies'), keys, createdAt: new Date(), source: { repository: 'bench', commit: 'bench' } });
    const buildMs = performance.now() - t0;
    const bytes = built.bytes;
    const mib = bytes.byteLength / (1024 * 1024);
    process.stdout.write(`bundle: ${POLICIES} policies, ${mib.toFixed(1)} MiB, ${built.manifest.components.length} components, 3 signatures; build + sign ${buildMs.toFixed(0)} ms\n`);

    const chunks = Array.from({ length: Math.ceil(bytes.byteLength / CHUNK) }, (_, i) => bytes.subarray(i * CHUNK, (i + 1) * CHUNK));
    const verifyMs: number[] = [];
    const hashMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      createHash('sha256').update(bytes).digest();
      hashMs.push(performance.now() - t);
      t = performance.now();
      await verifyBundleStream(chunks, { trust, now: new Date(), expectedSize: bytes.byteLength });
      verifyMs.push(performance.now() - t);
    }
    const v = median(verifyMs);
    const h = median(hashMs);
    process.stdout.write(`verify (streamed, ${CHUNK / 1024} KiB chunks)  median ${v.toFixed(1).padStart(8)} ms  ${(mib / (v / 1000)).toFixed(0).padStart(6)} MiB/s\n`);
    process.stdout.write(`baseline sha256 of the file        median ${h.toFixed(1).padStart(8)} ms  ${(mib / (h / 1000)).toFixed(0).padStart(6)} MiB/s\n`);
    process.stdout.write(`ratio verify / baseline            ${(v / h).toFixed(2)}\n`);

    const components: BundleComponent[] = [...(await verifyBundleStream([bytes], { trust, now: new Date() })).components].map(([name, b]) => ({
      name,
      mediaType: built.manifest.components.find((c) => c.name === name)!.mediaType,
      bytes: b,
    }));
    const input = { serial: 1, source: { repository: 'bench', commit: 'bench' }, createdAt: new Date(), expiresAt: new Date(Date.now() + 86_400_000), abiVersion: 1 };
    const unsigned: number[] = [];
    const signed: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      assembleBundle(input, components, []);
      unsigned.push(performance.now() - t);
      t = performance.now();
      assembleBundle(input, components, keys);
      signed.push(performance.now() - t);
    }
    process.stdout.write(`assemble unsigned                  median ${median(unsigned).toFixed(1).padStart(8)} ms\n`);
    process.stdout.write(`assemble + 3 signatures            median ${median(signed).toFixed(1).padStart(8)} ms  ratio ${(median(signed) / median(unsigned)).toFixed(2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
