/**
 * Shared fixtures for the bundle tests: real P-256 keys, real components (the built BPF object, a policy model,
 * probe lines), and helpers that build good and hostile bundle files.
 */
import { cpSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  COMPONENT,
  PALISADE_ABI_VERSION,
  assembleBundle,
  canonicalJsonBytes,
  generateSigningKeyPem,
  parseSigningKey,
  trustOfRoot,
  createRootSigned,
  signRoot,
  type BundleComponent,
  type ManifestInput,
  type SigningKey,
  type TrustPolicy,
} from '../../pipeline/core/bundle/index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BPF_OBJECT_PATH = `${REPO_ROOT}bpf/build/palisade.bpf.o`;

/** A fresh signing key. */
export function newKey(): SigningKey {
  return parseSigningKey(generateSigningKeyPem().privatePem, 'test key');
}

/** The real BPF object when built (npm run build), else a stand-in ELF-sized byte pattern for pure format tests. */
export function bpfObjectBytes(): Uint8Array {
  if (existsSync(BPF_OBJECT_PATH)) return new Uint8Array(readFileSync(BPF_OBJECT_PATH));
  throw new Error(`${BPF_OBJECT_PATH} is missing: run npm run build first`);
}

/** Components of a small bundle; `variant` changes the policy model so two bundles differ. */
export function components(variant = 'a'): BundleComponent[] {
  const model = { specs: [], skipped: { ConfigMap: variant === 'a' ? 1 : 2 } };
  return [
    { ...COMPONENT.policyModel, bytes: canonicalJsonBytes(model) },
    { ...COMPONENT.bpfObject, bytes: bpfObjectBytes() },
    { ...COMPONENT.probes, bytes: new TextEncoder().encode(`{"origin":"recorded","variant":"${variant}"}\n`) },
  ];
}

export const T0 = new Date('2026-11-28T10:00:00Z');

/** Manifest input with serial `serial`, valid for a day from T0. */
export function manifestInput(serial: number, extra: Partial<ManifestInput> = {}): ManifestInput {
  return {
    serial,
    source: { repository: 'https://example.test/policies.git', commit: '0123456789abcdef0123456789abcdef01234567' },
    createdAt: T0,
    expiresAt: new Date(T0.getTime() + 24 * 3600_000),
    abiVersion: PALISADE_ABI_VERSION,
    ...extra,
  };
}

/** A signed bundle. */
export function bundle(serial: number, keys: readonly SigningKey[], extra: Partial<ManifestInput> = {}, variant = 'a'): Uint8Array {
  return assembleBundle(manifestInput(serial, extra), components(variant), keys).bytes;
}

/** A k-of-n trust root over `keys`, self-signed by all of them. */
export function rootOf(keys: readonly SigningKey[], threshold: number, version = 1) {
  const signed = createRootSigned({ version, expiresAt: new Date(T0.getTime() + 365 * 86400_000), threshold, keys });
  return signRoot(signed, keys);
}

export function trustOf(keys: readonly SigningKey[], threshold: number): TrustPolicy {
  return trustOfRoot(rootOf(keys, threshold));
}

/** Offset of the data of tar entry `name` in a bundle file, and its size. */
export function entryOffset(file: Uint8Array, name: string): { header: number; data: number; size: number } {
  let off = 0;
  while (off + 512 <= file.length) {
    const h = file.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const n = Buffer.from(h.subarray(0, 100)).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(Buffer.from(h.subarray(124, 135)).toString('latin1'), 8);
    if (n === name) return { header: off, data: off + 512, size };
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no entry ${name}`);
}

/**
 * A policy repository of its own (a copy of the template's policies and recording, committed once with fixed
 * dates), so that builds see a HEAD that no concurrent commit to this checkout moves.
 * @param options.name the repository's directory under `parent` (default `policy-repo`);
 *   options.commitDate the commit's author and committer date (default 2026-11-20T09:00:00Z).
 * @returns the repository's root.
 */
export function makePolicyRepo(parent: string, options: { name?: string; commitDate?: string } = {}): string {
  const repo = join(parent, options.name ?? 'policy-repo');
  cpSync(join(REPO_ROOT, 'policy-repo-template/policies'), join(repo, 'policies'), { recursive: true });
  cpSync(join(REPO_ROOT, 'policy-repo-template/flows/recorded.json'), join(repo, 'flows/recorded.json'));
  const date = options.commitDate ?? '2026-11-20T09:00:00Z';
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], { env, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'https://example.test/policies.git');
  git('add', '.');
  git('commit', '-q', '-m', 'policies');
  return repo;
}

/**
 * The same public key written with a compressed point (SPKI DER `03|02 ‖ x`), as another tool might write it.
 * @returns the key object parsed from that encoding, its DER and its PEM.
 */
export function compressedPublicKey(publicKey: KeyObject): { key: KeyObject; der: Buffer; pem: string } {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const point = der.subarray(der.length - 65); // 04 ‖ x ‖ y
  const compressed = Buffer.concat([Buffer.from([0x02 + (point[64]! & 1)]), point.subarray(1, 33)]);
  const cder = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressed]);
  const key = createPublicKey({ key: cder, format: 'der', type: 'spki' });
  const pem = `-----BEGIN PUBLIC KEY-----\n${cder.toString('base64')}\n-----END PUBLIC KEY-----\n`;
  return { key, der: cder, pem };
}

/** Hex SHA-256 of some bytes (the old, encoding-dependent key ID of a DER key). */
export function sha256HexOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A copy of a bundle file with header bytes of entry `name` replaced, byte for byte, at `offset` (a ustar field
 * offset), and the header checksum made right again, as an attacker crafting a tar by hand would.
 */
export function patchTarHeader(file: Uint8Array, name: string, offset: number, bytes: Uint8Array | string): Uint8Array {
  const copy = new Uint8Array(file);
  const h = entryOffset(file, name).header;
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  copy.set(b, h + offset);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : copy[h + i]!;
  copy.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `, 'latin1'), h + 148);
  return copy;
}
