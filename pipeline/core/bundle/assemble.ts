/**
 * Assembling a bundle file: manifest, signatures, components, packed as deterministic ustar. Pure: keys, times and
 * components are inputs, so the same inputs give the same bytes (apart from the ECDSA signatures, which are
 * randomised by nature; an unsigned bundle, the manifest and every component are byte-identical).
 */
import { createManifest, manifestBytes, parseManifest } from './manifest.js';
import type { BundleManifest, ManifestInput } from './manifest.js';
import type { BundleComponent } from './components.js';
import { sha256Digest } from './digest.js';
import { signDsse } from './dsse.js';
import { BundleError } from './errors.js';
import type { SigningKey } from './keys.js';
import { COMPONENT_PREFIX, SIGNATURE_PREFIX, componentEntry, signatureEntry, MANIFEST_ENTRY, MAX_SIGNATURES } from './layout.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { parseSigstoreBundle, toSigstoreBundle } from './sigstore-bundle.js';
import type { SigstoreBundleJson } from './sigstore-bundle.js';
import { IN_TOTO_PAYLOAD_TYPE, statementBytes } from './statement.js';
import { readTarEntries, writeTar } from './tar.js';
import type { TarEntry } from './tar.js';

/** A built bundle file and what identifies it. */
export interface AssembledBundle {
  /** The bundle file. */
  readonly bytes: Uint8Array;
  readonly manifest: BundleManifest;
  /** `sha256:<hex>` of `manifest.json`: the bundle's identity, the same for any set of signatures. */
  readonly manifestDigest: string;
  /** Key IDs that signed, sorted. */
  readonly signers: readonly string[];
}

/**
 * Builds the manifest for `components`, signs it with every key in `keys` (none: an unsigned bundle) and packs the
 * file.
 * @throws BundleError `bundle-malformed` for out-of-range inputs or duplicate component names; `bundle-key-invalid`
 *   for the same key given twice.
 */
export function assembleBundle(input: ManifestInput, components: readonly BundleComponent[], keys: readonly SigningKey[]): AssembledBundle {
  const names = new Set<string>();
  for (const c of components) {
    if (names.has(c.name)) throw new BundleError('bundle-malformed', `component '${c.name}' given twice`);
    names.add(c.name);
  }
  const manifest = createManifest(input, components);
  const signatures = signManifest(manifest, keys);
  const byName = new Map(components.map((c) => [c.name, c.bytes] as const));
  return packBundle(manifest, signatures, manifest.components.map((c) => ({ name: c.name, bytes: byName.get(c.name)! })));
}

/**
 * One Sigstore bundle per key over the manifest's statement, sorted by key ID.
 * @throws BundleError `bundle-key-invalid` for a key given twice or more than {@link MAX_SIGNATURES} keys.
 */
export function signManifest(manifest: BundleManifest, keys: readonly SigningKey[]): SigstoreBundleJson[] {
  if (keys.length > MAX_SIGNATURES) throw new BundleError('bundle-key-invalid', `at most ${MAX_SIGNATURES} signing keys`);
  const ids = new Set(keys.map((k) => k.keyId));
  if (ids.size !== keys.length) throw new BundleError('bundle-key-invalid', 'the same signing key is given twice');
  const payload = statementBytes(manifest, manifestBytes(manifest));
  return [...keys]
    .sort((a, b) => (a.keyId < b.keyId ? -1 : 1))
    .map((k) => toSigstoreBundle(IN_TOTO_PAYLOAD_TYPE, payload, k.keyId, signDsse(IN_TOTO_PAYLOAD_TYPE, payload, k.privateKey)));
}

/**
 * Packs a bundle file from a manifest, its signatures and the component bytes in manifest order. Lower level than
 * {@link assembleBundle}: it trusts its caller (tests use it to build hostile files).
 */
export function packBundle(manifest: BundleManifest, signatures: readonly SigstoreBundleJson[], components: readonly { name: string; bytes: Uint8Array }[]): AssembledBundle {
  const mBytes = manifestBytes(manifest);
  const entries: TarEntry[] = [
    { name: MANIFEST_ENTRY, bytes: mBytes },
    ...signatures.map((s) => ({ name: signatureEntry(s.verificationMaterial.publicKey.hint), bytes: canonicalJsonBytes(s) })),
    ...components.map((c) => ({ name: componentEntry(c.name), bytes: c.bytes })),
  ];
  return {
    bytes: writeTar(entries),
    manifest,
    manifestDigest: sha256Digest(mBytes),
    signers: signatures.map((s) => s.verificationMaterial.publicKey.hint),
  };
}

/**
 * Adds signatures to an existing bundle file (co-signing: the holders of a k-of-n threshold sign one after another).
 * The manifest and components are kept byte for byte; a key that already signed is not signed again. The file is
 * checked structurally, not against any trust: co-signers should verify what they sign first.
 * @returns the new file (same manifest digest), with all signers.
 * @throws BundleError `bundle-malformed` (and the tar reader's codes) when `bytes` is not a bundle file;
 *   `bundle-key-invalid` as {@link signManifest}.
 */
export function cosignBundle(bytes: Uint8Array, keys: readonly SigningKey[]): AssembledBundle {
  const entries = readTarEntries(bytes);
  const [first, ...rest] = entries;
  if (!first || first.name !== MANIFEST_ENTRY) throw new BundleError('bundle-malformed', `the bundle must start with ${MANIFEST_ENTRY}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(first.bytes));
  } catch {
    throw new BundleError('bundle-malformed', `${MANIFEST_ENTRY} is not JSON`);
  }
  const manifest = parseManifest(parsed);
  if (sha256Digest(manifestBytes(manifest)) !== sha256Digest(first.bytes)) throw new BundleError('bundle-malformed', `${MANIFEST_ENTRY} is not canonical`);
  const existing = rest.filter((e) => e.name.startsWith(SIGNATURE_PREFIX));
  const components = rest.filter((e) => e.name.startsWith(COMPONENT_PREFIX)).map((e) => ({ name: e.name.slice(COMPONENT_PREFIX.length), bytes: e.bytes }));
  if (existing.length + components.length !== rest.length) throw new BundleError('bundle-malformed', 'unexpected entries in the bundle');
  const have = new Map(existing.map((e) => [parseSigstoreBundle(e.bytes, e.name).keyId, JSON.parse(new TextDecoder().decode(e.bytes)) as SigstoreBundleJson] as const));
  for (const s of signManifest(manifest, keys.filter((k) => !have.has(k.keyId)))) have.set(s.verificationMaterial.publicKey.hint, s);
  const signatures = [...have.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  if (signatures.length > MAX_SIGNATURES) throw new BundleError('bundle-key-invalid', `at most ${MAX_SIGNATURES} signatures`);
  return packBundle(manifest, signatures, components);
}
