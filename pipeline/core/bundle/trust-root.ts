/**
 * Trust: which keys may sign bundles and how many of them must (k of n). A trust root is a JSON file in the manner
 * of TUF's root.json: a `signed` part (version, expiry, threshold, public keys) and signatures over its canonical
 * bytes (DSSE PAE with {@link ROOT_PAYLOAD_TYPE}). Rotation: root N+1 must be signed by the threshold of root N's
 * keys and by its own threshold; a verifier walks the chain from the root it already trusts and ends on the newest,
 * which must not have expired.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalJsonBytes } from './canonical-json.js';
import { signDsse, verifyDsse } from './dsse.js';
import { BundleError } from './errors.js';
import { keyIdOf, parsePublicKey, publicKeyPem } from './keys.js';
import type { PublicKeyEntry, SigningKey } from './keys.js';
import { isPlainObject, rfc3339 } from './manifest.js';

/** DSSE payload type the root signatures are made over (PAE of the canonical `signed` part). */
export const ROOT_PAYLOAD_TYPE = 'application/vnd.palisade.root.v1+json';
/** `signed._type` of a trust root. */
export const ROOT_TYPE = 'palisade/root/v1';

/** Upper bound on a trust root file. */
export const MAX_ROOT_BYTES = 1024 * 1024;
/** At most this many keys, and this many signatures, in one root (each costs a parse or an ECDSA verify). */
export const MAX_ROOT_KEYS = 64;

/**
 * What a verifier trusts: keys by key ID and the number of distinct keys that must sign. Verifiers count a key once
 * by its canonical identity ({@link keyIdOf}), whatever IDs a map built by hand lists it under.
 */
export interface TrustPolicy {
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly threshold: number;
  /** Where this trust came from, for messages (`root v3`, `key ab12…`). */
  readonly description: string;
}

/** The signed part of a trust root. */
export interface RootSigned {
  readonly _type: typeof ROOT_TYPE;
  readonly version: number;
  /** RFC 3339 UTC. */
  readonly expiresAt: string;
  readonly threshold: number;
  /** Sorted by keyId. */
  readonly keys: readonly { readonly keyId: string; readonly publicKey: string }[];
}

/** A trust root file. */
export interface RootFile {
  readonly signed: RootSigned;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/**
 * Builds the signed part of a root.
 * @throws BundleError `trust-root-invalid` for a threshold outside 1..keys or a key listed twice (however written).
 */
export function createRootSigned(input: { version: number; expiresAt: Date; threshold: number; keys: readonly PublicKeyEntry[] }): RootSigned {
  const keys = [...input.keys].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  const signed: RootSigned = {
    _type: ROOT_TYPE,
    version: input.version,
    expiresAt: rfc3339(input.expiresAt),
    threshold: input.threshold,
    keys: keys.map((k) => ({ keyId: k.keyId, publicKey: publicKeyPem(k.publicKey) })),
  };
  checkRootSigned(signed, 'new root');
  return signed;
}

/** Signs a root with each of `keys` (the previous root's signers and/or its own). */
export function signRoot(signed: RootSigned, keys: readonly SigningKey[]): RootFile {
  const payload = canonicalJsonBytes(signed);
  const signatures = keys
    .map((k) => ({ keyid: k.keyId, sig: Buffer.from(signDsse(ROOT_PAYLOAD_TYPE, payload, k.privateKey)).toString('base64') }))
    .sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
  return { signed, signatures };
}

/**
 * Parses a root file's bytes (untrusted), checking its shape and that every listed key ID matches its key.
 * Signatures are checked by {@link verifyRootChain}.
 * @throws BundleError `trust-root-invalid`.
 */
export function parseRootFile(bytes: Uint8Array, where: string): RootFile {
  const bad = (what: string): never => {
    throw new BundleError('trust-root-invalid', `${where}: ${what}`);
  };
  if (bytes.byteLength > MAX_ROOT_BYTES) bad(`larger than ${MAX_ROOT_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return bad('not JSON');
  }
  if (!isPlainObject(v) || !hasMembers(v, ROOT_FILE_MEMBERS) || !isPlainObject(v.signed) || !Array.isArray(v.signatures)) return bad('expected {signed, signatures}');
  checkRootSigned(v.signed, where);
  if (v.signatures.length > MAX_ROOT_KEYS) bad(`more than ${MAX_ROOT_KEYS} signatures`);
  for (const s of v.signatures as unknown[]) {
    if (!isPlainObject(s) || !hasMembers(s, SIGNATURE_MEMBERS) || typeof s.keyid !== 'string' || typeof s.sig !== 'string') bad('a signature must be {keyid, sig}');
  }
  return v as unknown as RootFile;
}

const ROOT_FILE_MEMBERS = ['signatures', 'signed'];
const SIGNED_MEMBERS = ['_type', 'expiresAt', 'keys', 'threshold', 'version'];
const KEY_MEMBERS = ['keyId', 'publicKey'];
const KEY_ID_RE = /^[0-9a-f]{64}$/;
const SIGNATURE_MEMBERS = ['keyid', 'sig'];

/** True when `o` has exactly the members `names` (sorted), no more and no fewer. */
function hasMembers(o: Record<string, unknown>, names: readonly string[]): boolean {
  const keys = Object.keys(o).sort();
  return keys.length === names.length && keys.every((k, i) => k === names[i]);
}

function checkRootSigned(s: unknown, where: string): asserts s is RootSigned {
  const bad = (what: string): never => {
    throw new BundleError('trust-root-invalid', `${where}: ${what}`);
  };
  if (!isPlainObject(s)) return bad('signed is not an object');
  if (!hasMembers(s, SIGNED_MEMBERS)) bad(`signed must have exactly the members ${SIGNED_MEMBERS.join(', ')}`);
  if (s._type !== ROOT_TYPE) bad(`_type is not ${ROOT_TYPE}`);
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1) bad('version must be a positive integer');
  if (typeof s.expiresAt !== 'string' || Number.isNaN(Date.parse(s.expiresAt))) bad('expiresAt must be an RFC 3339 time');
  if (!Array.isArray(s.keys) || s.keys.length === 0) return bad('keys must list at least one key');
  if (s.keys.length > MAX_ROOT_KEYS) bad(`more than ${MAX_ROOT_KEYS} keys`);
  const seen = new Set<string>();
  for (const k of s.keys as unknown[]) {
    if (!isPlainObject(k) || !hasMembers(k, KEY_MEMBERS) || typeof k.keyId !== 'string' || typeof k.publicKey !== 'string') return bad('a key must be {keyId, publicKey}');
    if (!KEY_ID_RE.test(k.keyId)) return bad('a key ID must be 64 lowercase hex digits');
    let entry: PublicKeyEntry;
    try {
      entry = parsePublicKey(k.publicKey, `${where}: key ${k.keyId}`);
    } catch (err) {
      return bad((err as Error).message);
    }
    // The ID is the canonical key's: a key written another way (compressed point) has the same ID, so it is caught
    // below as a duplicate instead of counting twice toward the threshold.
    if (entry.keyId !== k.keyId) bad(`key ${k.keyId}: key ID does not match the key (it is ${entry.keyId})`);
    if (seen.has(k.keyId)) bad(`key ${k.keyId} listed twice (the same key, however it is written, is one key)`);
    seen.add(k.keyId);
  }
  if (!Number.isSafeInteger(s.threshold) || (s.threshold as number) < 1 || (s.threshold as number) > seen.size) {
    bad(`threshold must be between 1 and the number of keys (${seen.size})`);
  }
}

/** The trust a root grants (its keys and threshold). */
export function trustOfRoot(root: RootFile): TrustPolicy {
  const keys = new Map(root.signed.keys.map((k) => [k.keyId, parsePublicKey(k.publicKey, `root key ${k.keyId}`).publicKey] as const));
  return { keys, threshold: root.signed.threshold, description: `trust root v${root.signed.version}` };
}

/** Trust in one public key alone (threshold 1), for `--trust PREFIX.pub`. */
export function trustOfKey(entry: PublicKeyEntry): TrustPolicy {
  return { keys: new Map([[entry.keyId, entry.publicKey]]), threshold: 1, description: `key ${entry.keyId.slice(0, 12)}` };
}

/** The distinct trusted keys (by canonical key ID) whose signature over `signed` verifies. */
function validRootSigners(root: RootFile, trust: TrustPolicy): Set<string> {
  const payload = canonicalJsonBytes(root.signed);
  const ok = new Set<string>();
  for (const s of root.signatures) {
    const key = trust.keys.get(s.keyid);
    // Counted by the key itself, so several signature entries (or IDs) of one key count once.
    if (key && verifyDsse(ROOT_PAYLOAD_TYPE, payload, Buffer.from(s.sig, 'base64'), key)) ok.add(keyIdOf(key));
  }
  return ok;
}

/**
 * Verifies a chain of roots and returns the trust of the newest. `chain[0]` is the root already trusted (it must
 * carry its own threshold of signatures); each next one must have the next version and be signed by the threshold
 * of the previous root and by its own.
 * @param now the time the newest root must not have passed.
 * @throws BundleError `trust-root-invalid` for a broken chain, `trust-root-expired` when the newest root expired.
 */
export function verifyRootChain(chain: readonly RootFile[], now: Date): TrustPolicy {
  const first = chain[0];
  if (!first) throw new BundleError('trust-root-invalid', 'no trust root given');
  let current = first;
  let trust = trustOfRoot(first);
  const own = validRootSigners(first, trust).size;
  if (own < trust.threshold) {
    throw new BundleError('trust-root-invalid', `root v${first.signed.version} carries ${own} valid signatures of its own keys, needs ${trust.threshold}`);
  }
  for (const next of chain.slice(1)) {
    const v = next.signed.version;
    if (v !== current.signed.version + 1) {
      throw new BundleError('trust-root-invalid', `root v${v} does not follow v${current.signed.version}`);
    }
    const byOld = validRootSigners(next, trust).size;
    if (byOld < trust.threshold) {
      throw new BundleError('trust-root-invalid', `root v${v} is signed by ${byOld} keys of root v${current.signed.version}, its threshold is ${trust.threshold}`);
    }
    const nextTrust = trustOfRoot(next);
    const byNew = validRootSigners(next, nextTrust).size;
    if (byNew < nextTrust.threshold) {
      throw new BundleError('trust-root-invalid', `root v${v} is signed by ${byNew} of its own keys, its threshold is ${nextTrust.threshold}`);
    }
    current = next;
    trust = nextTrust;
  }
  if (Date.parse(current.signed.expiresAt) <= now.getTime()) {
    throw new BundleError('trust-root-expired', `trust root v${current.signed.version} expired at ${current.signed.expiresAt}`);
  }
  return trust;
}
