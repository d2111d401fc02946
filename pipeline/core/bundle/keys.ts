/**
 * Signing keys: ECDSA P-256 only. Private keys travel as PKCS#8 PEM (SEC1 `EC PRIVATE KEY` is read too), public keys
 * as SPKI PEM, one PEM block per file or text. A key's identity is the key itself, not how it was written: every key
 * is normalised to its canonical SPKI DER (named curve, uncompressed point) before anything else sees it, and a key's
 * ID is the lowercase hex SHA-256 of that canonical DER. The same key written with a compressed or hybrid point has
 * the same ID, so it can never count twice toward a threshold.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from './digest.js';
import { BundleError } from './errors.js';

/** A private key ready to sign, with its key ID. */
export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  /** Canonical (see {@link canonicalPublicKey}). */
  readonly publicKey: KeyObject;
}

/** A trusted public key with its key ID. */
export interface PublicKeyEntry {
  readonly keyId: string;
  /** Canonical (see {@link canonicalPublicKey}). */
  readonly publicKey: KeyObject;
}

/** SPKI DER of a P-256 key up to the point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
/** Bytes of one P-256 coordinate. */
const P256_COORDINATE_BYTES = 32;

/**
 * The canonical SPKI DER of a P-256 public key: named curve and uncompressed point (`04 ‖ x ‖ y`), built from the
 * point's coordinates, so every encoding of one key (compressed, hybrid, uncompressed) gives the same 91 bytes.
 * @throws BundleError `bundle-key-invalid` when `publicKey` is not an ECDSA P-256 public key.
 */
export function canonicalSpkiDer(publicKey: KeyObject): Uint8Array {
  checkP256(publicKey, 'key');
  if (publicKey.type !== 'public') throw new BundleError('bundle-key-invalid', 'key: not a public key');
  const jwk = publicKey.export({ format: 'jwk' });
  const coordinate = (c: string | undefined): Buffer => {
    const b = Buffer.from(c ?? '', 'base64url');
    if (b.byteLength > P256_COORDINATE_BYTES || b.byteLength === 0) throw new BundleError('bundle-key-invalid', 'key: not a P-256 point');
    return Buffer.concat([Buffer.alloc(P256_COORDINATE_BYTES - b.byteLength), b]);
  };
  return new Uint8Array(Buffer.concat([P256_SPKI_PREFIX, Buffer.from([0x04]), coordinate(jwk.x), coordinate(jwk.y)]));
}

/**
 * The same key as a KeyObject whose every export is canonical (see {@link canonicalSpkiDer}).
 * @throws BundleError `bundle-key-invalid` when `publicKey` is not an ECDSA P-256 public key.
 */
export function canonicalPublicKey(publicKey: KeyObject): KeyObject {
  return createPublicKey({ key: Buffer.from(canonicalSpkiDer(publicKey)), format: 'der', type: 'spki' });
}

/**
 * The key ID of a public key: hex SHA-256 of its canonical SPKI DER (so the key, not its encoding, decides it).
 * @throws BundleError `bundle-key-invalid` when `publicKey` is not an ECDSA P-256 public key.
 */
export function keyIdOf(publicKey: KeyObject): string {
  return sha256Hex(canonicalSpkiDer(publicKey));
}

/** Canonical SPKI PEM text of a public key. @throws BundleError `bundle-key-invalid` as {@link canonicalSpkiDer}. */
export function publicKeyPem(publicKey: KeyObject): string {
  return canonicalPublicKey(publicKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** A fresh P-256 key pair as PEM texts plus its key ID. */
export function generateSigningKeyPem(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKeyPem(publicKey),
    keyId: keyIdOf(publicKey),
  };
}

/**
 * Parses a PKCS#8 (or SEC1) PEM private key. `where` names its origin (a file, an environment variable) for messages.
 * @throws BundleError `bundle-key-invalid` when it is not exactly one P-256 private key; the text is never echoed.
 */
export function parseSigningKey(pem: string, where: string): SigningKey {
  const label = singlePemLabel(pem, where);
  if (label === 'ENCRYPTED PRIVATE KEY') throw new BundleError('bundle-key-invalid', `${where}: the private key is encrypted; give it unencrypted (PKCS#8)`);
  if (label !== 'PRIVATE KEY' && label !== 'EC PRIVATE KEY') throw new BundleError('bundle-key-invalid', `${where}: not a PEM private key (found a ${label} block)`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new BundleError('bundle-key-invalid', `${where}: not a PEM private key`);
  }
  checkP256(privateKey, where);
  const publicKey = canonicalPublicKey(createPublicKey(privateKey));
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/**
 * Parses an SPKI PEM public key (exactly one `PUBLIC KEY` block; certificates are refused, since nothing here would
 * check their validity or chain).
 * @returns the canonical key and its ID.
 * @throws BundleError `bundle-key-invalid` when it is not exactly one P-256 public key.
 */
export function parsePublicKey(pem: string, where: string): PublicKeyEntry {
  const label = singlePemLabel(pem, where);
  if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE' || label === 'X509 CERTIFICATE') {
    throw new BundleError('bundle-key-invalid', `${where}: an X.509 certificate, not a public key; give its key alone (openssl x509 -pubkey -noout -in FILE)`);
  }
  if (label !== 'PUBLIC KEY') throw new BundleError('bundle-key-invalid', `${where}: not a PEM public key (found a ${label} block)`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new BundleError('bundle-key-invalid', `${where}: not a PEM public key`);
  }
  checkP256(publicKey, where);
  const canonical = canonicalPublicKey(publicKey);
  return { keyId: keyIdOf(canonical), publicKey: canonical };
}

const PEM_BEGIN_RE = /-----BEGIN ([^-\r\n]{1,64})-----/g;
const PEM_BLOCK_RE = /^\s*-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n[A-Za-z0-9+/=\r\n]*-----END \1-----\s*$/;

/**
 * The label of the one PEM block `text` consists of (only whitespace around it).
 * @throws BundleError `bundle-key-invalid` for no block, several blocks, or other text beside the block.
 */
function singlePemLabel(text: string, where: string): string {
  const blocks = [...text.matchAll(PEM_BEGIN_RE)].length;
  if (blocks === 0) throw new BundleError('bundle-key-invalid', `${where}: not PEM (no -----BEGIN line)`);
  if (blocks > 1) throw new BundleError('bundle-key-invalid', `${where}: holds ${blocks} PEM blocks; a key file holds exactly one key`);
  const m = PEM_BLOCK_RE.exec(text);
  if (!m) throw new BundleError('bundle-key-invalid', `${where}: not a single well-formed PEM block (text outside it, or a bad END line)`);
  return m[1]!;
}

function checkP256(k: KeyObject, where: string): void {
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BundleError('bundle-key-invalid', `${where}: not an ECDSA P-256 key`);
  }
}
