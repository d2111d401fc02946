/**
 * The agent's gate: verifies a bundle file as it streams in. Order of checks: file structure of the manifest and
 * signature entries → signatures against the trust (threshold of distinct trusted keys over this exact manifest) →
 * the signed manifest's ABI version, expiry and serial → every component against the signed digest and size → the
 * end of the file. No component byte is read before the signatures are verified, and no more bytes than the signed
 * manifest accounts for are ever accepted. Pure: nothing is changed; the caller records `nextMinSerial` and
 * `nextMinRollbackOf` on success.
 */
import { PALISADE_ABI_VERSION } from './abi-version.js';
import { BoundedByteReader } from './bounded-reader.js';
import type { BoundedReadOptions, ByteSource } from './bounded-reader.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { sha256Digest, sha256Hex } from './digest.js';
import { verifyDsse } from './dsse.js';
import { BundleError } from './errors.js';
import { keyIdOf } from './keys.js';
import { COMPONENT_PREFIX, MANIFEST_ENTRY, MAX_SIGNATURES, SIGNATURE_PREFIX, componentEntry, signatureEntry } from './layout.js';
import { MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import type { BundleManifest } from './manifest.js';
import { MAX_SIGNATURE_FILE_BYTES, parseSigstoreBundle } from './sigstore-bundle.js';
import type { ParsedSignature } from './sigstore-bundle.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from './statement.js';
import { TAR_BLOCK, paddedSize, parseTarHeader } from './tar.js';
import type { TarHeader } from './tar.js';
import type { TrustPolicy } from './trust-root.js';

/** What the gate checks a bundle against. */
export interface VerifyOptions extends BoundedReadOptions {
  readonly trust: TrustPolicy;
  /** The time to check expiry against. */
  readonly now: Date;
  /**
   * The lowest serial a normal bundle may carry, inclusive (default 0): an agent passes the serial of the bundle it
   * runs, so re-verifying that bundle after a restart passes and anything older is refused.
   */
  readonly minSerial?: number;
  /**
   * The lowest `rollbackOf` a rollback bundle may carry, inclusive (default: `minSerial`): a rollback must revert the
   * bundle the agent runs or a later one, so a stale rollback bundle cannot be replayed. After the agent accepted a
   * rollback of serial R this is R while `minSerial` is R + 1: the rollback re-verifies, the bad bundle R does not.
   */
  readonly minRollbackOf?: number;
  /** Datapath ABI versions this agent speaks (default: {@link PALISADE_ABI_VERSION} only). */
  readonly abiVersions?: readonly number[];
}

/** A bundle that passed every check. */
export interface VerifiedBundle {
  readonly manifest: BundleManifest;
  /** `sha256:<hex>` of `manifest.json`. */
  readonly manifestDigest: string;
  /** Component bytes by name, each checked against the manifest. */
  readonly components: ReadonlyMap<string, Uint8Array>;
  /** Trusted key IDs whose signatures verified, sorted. */
  readonly signers: readonly string[];
  /** What `minSerial` must be from now on: this bundle's serial, or past the serial it rolled back (refused from now on). */
  readonly nextMinSerial: number;
  /** What `minRollbackOf` must be from now on: the serial this bundle replaced (its `rollbackOf`, else its serial). */
  readonly nextMinRollbackOf: number;
  /** Size of the bundle file in bytes. */
  readonly size: number;
}

/**
 * Verifies a bundle held in memory. Same checks and errors as {@link verifyBundleStream}.
 */
export async function verifyBundle(bytes: Uint8Array, options: VerifyOptions): Promise<VerifiedBundle> {
  return verifyBundleStream([bytes], options);
}

/**
 * Verifies a bundle file while reading it from `source`, which is told to stop as soon as it is rejected.
 * @returns the verified manifest, components and the next minimum serial.
 * @throws BundleError with one of the `bundle-*` codes (see errors.ts): `bundle-malformed`, `bundle-bad-signature`,
 *   `bundle-unknown-key`, `bundle-threshold`, `bundle-manifest-tampered`, `bundle-abi-mismatch`, `bundle-expired`,
 *   `bundle-rollback`, `bundle-component-mismatch`, `bundle-oversize`, `bundle-truncated`, `bundle-cancelled`
 *   (`signal` fired: the deadline for slow or stalled data passed).
 */
export async function verifyBundleStream(source: ByteSource, options: VerifyOptions): Promise<VerifiedBundle> {
  const reader = new BoundedByteReader(source, options);
  try {
    return await verifyFrom(reader, options);
  } finally {
    await reader.close();
  }
}

async function verifyFrom(reader: BoundedByteReader, options: VerifyOptions): Promise<VerifiedBundle> {
  // 1. manifest.json, untrusted until the signatures say otherwise
  const first = await readHeader(reader);
  if (!first || first.name !== MANIFEST_ENTRY) throw new BundleError('bundle-malformed', `the bundle must start with ${MANIFEST_ENTRY}`);
  if (first.size > MAX_MANIFEST_BYTES) throw new BundleError('bundle-oversize', `${MANIFEST_ENTRY} claims ${first.size} bytes, the limit is ${MAX_MANIFEST_BYTES}`);
  const mBytes = await readData(reader, first);
  const manifest = parseManifestBytes(mBytes);

  // 2. signatures
  const signatures: ParsedSignature[] = [];
  let next = await readHeader(reader);
  while (next && next.name.startsWith(SIGNATURE_PREFIX)) {
    if (signatures.length >= MAX_SIGNATURES) throw new BundleError('bundle-malformed', `more than ${MAX_SIGNATURES} signatures`);
    if (next.size > MAX_SIGNATURE_FILE_BYTES) throw new BundleError('bundle-oversize', `${next.name} claims ${next.size} bytes, the limit is ${MAX_SIGNATURE_FILE_BYTES}`);
    const sig = parseSigstoreBundle(await readData(reader, next), next.name);
    if (next.name !== signatureEntry(sig.keyId)) throw new BundleError('bundle-malformed', `${next.name} holds a signature by key ${sig.keyId}`);
    const prev = signatures[signatures.length - 1];
    if (prev && prev.keyId >= sig.keyId) throw new BundleError('bundle-malformed', 'signatures are duplicated or out of order');
    signatures.push(sig);
    next = await readHeader(reader);
  }
  const signers = checkSignatures(signatures, mBytes, options.trust);

  // 3. what the signed manifest says about this agent and this moment
  checkManifestPolicy(manifest, options);

  // 4. components, each bounded by its signed size and checked against its signed digest
  const components = new Map<string, Uint8Array>();
  for (const c of manifest.components) {
    if (!next) throw new BundleError('bundle-component-mismatch', `component '${c.name}' is missing`);
    if (next.name !== componentEntry(c.name)) {
      throw new BundleError('bundle-component-mismatch', `expected component '${c.name}', found entry '${next.name}'`);
    }
    // Refused before a byte of it is read: more data than the signed manifest accounts for is endless data.
    if (next.size > c.size) {
      throw new BundleError('bundle-oversize', `component '${c.name}' is ${next.size} bytes, larger than the ${c.size} the manifest says`);
    }
    if (next.size < c.size) {
      throw new BundleError('bundle-component-mismatch', `component '${c.name}' is ${next.size} bytes, the manifest says ${c.size}`);
    }
    const bytes = await readData(reader, next);
    const digest = sha256Digest(bytes);
    if (digest !== c.digest) throw new BundleError('bundle-component-mismatch', `component '${c.name}' has digest ${digest}, the manifest says ${c.digest}`);
    components.set(c.name, bytes);
    next = await readHeader(reader);
  }
  if (next) {
    const what = next.name.startsWith(COMPONENT_PREFIX) ? 'component not in the manifest' : 'unexpected entry';
    throw new BundleError('bundle-component-mismatch', `${what}: '${next.name}'`);
  }

  // 5. the second end block, then nothing more
  const end = await reader.read(TAR_BLOCK);
  if (end.some((b) => b !== 0)) throw new BundleError('bundle-malformed', 'the end-of-archive marker is incomplete');
  const size = reader.offset;
  await reader.expectEnd();

  const floor = serialFloor(options);
  const nextMinSerial = Math.max(floor.minSerial, manifest.serial, manifest.rollbackOf === null ? 0 : manifest.rollbackOf + 1);
  const nextMinRollbackOf = Math.max(floor.minRollbackOf, manifest.rollbackOf ?? manifest.serial);
  return { manifest, manifestDigest: sha256Digest(mBytes), components, signers, nextMinSerial, nextMinRollbackOf, size };
}

async function readHeader(reader: BoundedByteReader): Promise<TarHeader | null> {
  return parseTarHeader(await reader.read(TAR_BLOCK));
}

/** An entry's data, with its padding checked to be zero (nothing may hide in it). */
async function readData(reader: BoundedByteReader, h: TarHeader): Promise<Uint8Array> {
  const data = await reader.read(h.size);
  const copy = new Uint8Array(data); // the reader may hand out views of chunks it keeps
  const pad = await reader.read(paddedSize(h.size) - h.size);
  if (pad.some((b) => b !== 0)) throw new BundleError('bundle-malformed', `'${h.name}': non-zero padding`);
  return copy;
}

function parseManifestBytes(bytes: Uint8Array): BundleManifest {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BundleError('bundle-malformed', `${MANIFEST_ENTRY} is not JSON`);
  }
  return parseManifest(v);
}

/**
 * Counts distinct trusted keys with a valid signature over a statement about exactly these manifest bytes. A key
 * counts once by its canonical identity, however many entries or key IDs claim it.
 * @returns their canonical key IDs, sorted.
 * @throws BundleError for the most specific reason when they are fewer than the threshold.
 */
function checkSignatures(signatures: readonly ParsedSignature[], mBytes: Uint8Array, trust: TrustPolicy): string[] {
  const digest = sha256Hex(mBytes);
  const valid = new Set<string>();
  const bad: string[] = [];
  const unknown: string[] = [];
  const otherManifest: string[] = [];
  for (const s of signatures) {
    const key = trust.keys.get(s.keyId);
    if (!key) {
      unknown.push(s.keyId);
      continue;
    }
    if (s.payloadType !== IN_TOTO_PAYLOAD_TYPE || !verifyDsse(s.payloadType, s.payload, s.sig, key)) {
      bad.push(s.keyId);
      continue;
    }
    // Signed by a trusted key: now the statement's content can be believed.
    const st = parseStatement(s.payload);
    if (st.subjectSha256 !== digest) {
      otherManifest.push(s.keyId);
      continue;
    }
    if (sha256Hex(canonicalJsonBytes(st.manifest)) !== digest) {
      throw new BundleError('bundle-malformed', `signature by ${short(s.keyId)}: the statement's predicate is not its subject`);
    }
    valid.add(keyIdOf(key));
  }
  if (valid.size >= trust.threshold) return [...valid].sort();
  const have = `${valid.size} valid of ${trust.threshold} required (${trust.description})`;
  if (otherManifest.length > 0) {
    throw new BundleError('bundle-manifest-tampered', `${MANIFEST_ENTRY} (sha256 ${digest.slice(0, 12)}…) is not the manifest key ${short(otherManifest[0]!)} signed; ${have}`);
  }
  if (bad.length > 0) {
    throw new BundleError('bundle-bad-signature', `the signature by key ${short(bad[0]!)} does not verify; ${have}`);
  }
  if (valid.size === 0 && unknown.length > 0) {
    throw new BundleError('bundle-unknown-key', `signed only by keys the trust does not list (${unknown.map(short).join(', ')}); ${have}`);
  }
  throw new BundleError('bundle-threshold', signatures.length === 0 ? `the bundle is unsigned; ${have}` : `too few signatures: ${have}`);
}

function checkManifestPolicy(m: BundleManifest, options: VerifyOptions): void {
  const abis = options.abiVersions ?? [PALISADE_ABI_VERSION];
  if (!abis.includes(m.abiVersion)) {
    throw new BundleError('bundle-abi-mismatch', `built for datapath ABI v${m.abiVersion}, this agent speaks ${abis.map((a) => `v${a}`).join(', ')}`);
  }
  if (Date.parse(m.expiresAt) <= options.now.getTime()) {
    throw new BundleError('bundle-expired', `serial ${m.serial} expired at ${m.expiresAt}`);
  }
  const { minSerial, minRollbackOf } = serialFloor(options);
  if (m.rollbackOf === null) {
    if (m.serial < minSerial) throw new BundleError('bundle-rollback', `serial ${m.serial} is below the minimum serial ${minSerial}`);
  } else if (m.rollbackOf < minRollbackOf) {
    throw new BundleError('bundle-rollback', `rollback bundle ${m.serial} reverts serial ${m.rollbackOf}, but the minimum a rollback may revert is serial ${minRollbackOf}`);
  }
}

/** The serial minimums in force (defaults filled in). */
function serialFloor(options: VerifyOptions): { minSerial: number; minRollbackOf: number } {
  const minSerial = options.minSerial ?? 0;
  return { minSerial, minRollbackOf: options.minRollbackOf ?? minSerial };
}

function short(keyId: string): string {
  return `${keyId.slice(0, 12)}…`;
}
