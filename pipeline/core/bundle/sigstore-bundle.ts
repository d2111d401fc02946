/**
 * One signature, stored as a Sigstore bundle v0.3 (JSON): the DSSE envelope with a single signature, and the signing
 * key named by `verificationMaterial.publicKey.hint` (the key ID). No transparency log or timestamp entries: the
 * bundle is verified offline against trusted keys, which `@sigstore/verify` supports with key-based trust material.
 * A bundle signed by k keys carries k of these, one per key, all over the same payload.
 */
import { canonicalJsonBytes } from './canonical-json.js';
import { BundleError } from './errors.js';
import { isPlainObject } from './manifest.js';

/** Media type of a Sigstore bundle v0.3 in JSON. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * A Sigstore bundle as JSON, in the protobuf-specs JSON mapping exactly as sigstore-js writes it (`bundleToJSON`):
 * byte fields in standard base64.
 */
export interface SigstoreBundleJson {
  readonly mediaType: typeof SIGSTORE_BUNDLE_MEDIA_TYPE;
  /** No transparency log entries and no timestamps: empty repeated fields are omitted, as protobuf JSON does. */
  readonly verificationMaterial: {
    readonly publicKey: { readonly hint: string };
    readonly timestampVerificationData: Record<string, never>;
  };
  readonly dsseEnvelope: {
    readonly payload: string;
    readonly payloadType: string;
    readonly signatures: readonly [{ readonly sig: string; readonly keyid: string }];
  };
}

/** Upper bound on one stored Sigstore bundle (it holds the statement, i.e. the manifest, base64-encoded). */
export const MAX_SIGNATURE_FILE_BYTES = 2 * 1024 * 1024;

/** Wraps one DSSE signature as a Sigstore bundle. */
export function toSigstoreBundle(payloadType: string, payload: Uint8Array, keyId: string, sig: Uint8Array): SigstoreBundleJson {
  return {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: keyId }, timestampVerificationData: {} },
    dsseEnvelope: {
      payload: Buffer.from(payload).toString('base64'),
      payloadType,
      signatures: [{ sig: Buffer.from(sig).toString('base64'), keyid: keyId }],
    },
  };
}

/** A parsed signature: who claims to have signed what. */
export interface ParsedSignature {
  readonly keyId: string;
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly sig: Uint8Array;
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses the bytes of a stored Sigstore bundle, strictly: the bytes must be exactly those {@link toSigstoreBundle}
 * and canonical JSON give for the signature they hold.
 * @throws BundleError `bundle-malformed` naming `where` when the JSON, its shape or its spelling is wrong.
 */
export function parseSigstoreBundle(bytes: Uint8Array, where: string): ParsedSignature {
  const bad = (what: string): never => {
    throw new BundleError('bundle-malformed', `${where}: ${what}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return bad('not JSON');
  }
  if (!isPlainObject(v)) return bad('not an object');
  if (v.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE) bad(`mediaType is not ${SIGSTORE_BUNDLE_MEDIA_TYPE}`);
  const vm = v.verificationMaterial;
  if (!isPlainObject(vm) || !isPlainObject(vm.publicKey) || typeof vm.publicKey.hint !== 'string') return bad('verificationMaterial.publicKey.hint missing');
  if (Array.isArray(vm.tlogEntries) && vm.tlogEntries.length > 0) bad('transparency log entries are not used by Palisade');
  const env = v.dsseEnvelope;
  if (!isPlainObject(env)) return bad('dsseEnvelope missing');
  if (typeof env.payloadType !== 'string' || typeof env.payload !== 'string' || !B64_RE.test(env.payload)) return bad('dsseEnvelope payload/payloadType invalid');
  const sigs = env.signatures;
  if (!Array.isArray(sigs) || sigs.length !== 1) return bad('dsseEnvelope must hold exactly one signature');
  const s0: unknown = sigs[0];
  if (!isPlainObject(s0) || typeof s0.sig !== 'string' || !B64_RE.test(s0.sig) || s0.sig.length === 0) return bad('signature is not base64');
  const hint = vm.publicKey.hint;
  if (!/^[0-9a-f]{64}$/.test(hint)) bad('publicKey.hint is not a key ID (64 hex digits)');
  if (s0.keyid !== undefined && s0.keyid !== '' && s0.keyid !== hint) bad('signature keyid differs from publicKey.hint');
  const parsed: ParsedSignature = {
    keyId: hint,
    payloadType: env.payloadType,
    payload: new Uint8Array(Buffer.from(env.payload, 'base64')),
    sig: new Uint8Array(Buffer.from(s0.sig, 'base64')),
  };
  // Strict reading: exactly the bytes the writer makes for this signature (no extra members, no other spelling).
  const written = canonicalJsonBytes(toSigstoreBundle(parsed.payloadType, parsed.payload, parsed.keyId, parsed.sig));
  if (!Buffer.from(written).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    bad('not in the form Palisade writes (canonical JSON, no other members, keyid equal to the hint, canonical base64)');
  }
  return parsed;
}
