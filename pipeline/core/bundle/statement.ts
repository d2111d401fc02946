/**
 * The signed payload: an in-toto Statement v1 whose subject is the manifest (by name and SHA-256) and whose
 * predicate is the manifest itself, so a verifier learns the manifest only from signed bytes.
 */
import { canonicalJsonBytes } from './canonical-json.js';
import { BundleError } from './errors.js';
import { MANIFEST_NAME, isPlainObject, parseManifest } from './manifest.js';
import type { BundleManifest } from './manifest.js';
import { sha256Hex } from './digest.js';

/** `_type` of an in-toto Statement v1. */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The predicate type of a Palisade bundle statement. */
export const PALISADE_PREDICATE_TYPE = 'https://palisade.dev/attestations/bundle-manifest/v1';

/** The statement a bundle signer signs. */
export interface BundleStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_TYPE;
  readonly subject: readonly [{ readonly name: typeof MANIFEST_NAME; readonly digest: { readonly sha256: string } }];
  readonly predicateType: typeof PALISADE_PREDICATE_TYPE;
  readonly predicate: BundleManifest;
}

/** The statement for a manifest whose canonical bytes are `manifestBytes`, as canonical JSON bytes. */
export function statementBytes(manifest: BundleManifest, manifestBytesValue: Uint8Array): Uint8Array {
  const st: BundleStatement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: MANIFEST_NAME, digest: { sha256: sha256Hex(manifestBytesValue) } }],
    predicateType: PALISADE_PREDICATE_TYPE,
    predicate: manifest,
  };
  return canonicalJsonBytes(st);
}

/**
 * Parses a signed statement payload.
 * @returns the subject's SHA-256 (hex) and the predicate manifest.
 * @throws BundleError `bundle-malformed` when it is not a Palisade bundle statement.
 */
export function parseStatement(payload: Uint8Array): { subjectSha256: string; manifest: BundleManifest } {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new BundleError('bundle-malformed', 'signed payload is not JSON');
  }
  const bad = (what: string): never => {
    throw new BundleError('bundle-malformed', `signed statement: ${what}`);
  };
  if (!isPlainObject(v)) return bad('not an object');
  if (v._type !== IN_TOTO_STATEMENT_TYPE) bad(`_type is not ${IN_TOTO_STATEMENT_TYPE}`);
  if (v.predicateType !== PALISADE_PREDICATE_TYPE) bad(`predicateType is not ${PALISADE_PREDICATE_TYPE}`);
  const subj = v.subject;
  if (!Array.isArray(subj) || subj.length !== 1) return bad('expected exactly one subject');
  const s0: unknown = subj[0];
  if (!isPlainObject(s0) || s0.name !== MANIFEST_NAME || !isPlainObject(s0.digest) || typeof s0.digest.sha256 !== 'string'
    || !/^[0-9a-f]{64}$/.test(s0.digest.sha256)) {
    bad(`subject must be ${MANIFEST_NAME} with a sha256 digest`);
  }
  const manifest = parseManifest(v.predicate);
  return { subjectSha256: ((s0 as Record<string, unknown>).digest as { sha256: string }).sha256, manifest };
}
