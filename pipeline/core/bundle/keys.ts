/**
 * Signing keys: ECDSA P-256 only. Private keys travel as PKCS#8 PEM, public keys as SPKI PEM; a key's ID is the
 * lowercase hex SHA-256 of its SPKI DER encoding, so anyone holding the public key can compute it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from './digest.js';
import { BundleError } from './errors.js';

/** A private key ready to sign, with its key ID. */
export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A trusted public key with its key ID. */
export interface PublicKeyEntry {
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

/** The key ID of a public key: hex SHA-256 of its SPKI DER. */
export function keyIdOf(publicKey: KeyObject): string {
  return sha256Hex(publicKey.export({ type: 'spki', format: 'der' }));
}

/** SPKI PEM text of a public key. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
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
 * Parses a PKCS#8 PEM private key. `where` names its origin (a file, an environment variable) for messages.
 * @throws BundleError `bundle-key-invalid` when it is not a P-256 private key; the text is never echoed.
 */
export function parseSigningKey(pem: string, where: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new BundleError('bundle-key-invalid', `${where}: not a PEM private key`);
  }
  checkP256(privateKey, where);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/**
 * Parses an SPKI PEM public key.
 * @throws BundleError `bundle-key-invalid` when it is not a P-256 public key.
 */
export function parsePublicKey(pem: string, where: string): PublicKeyEntry {
  let publicKey: KeyObject;
  try {
    if (/PRIVATE KEY/.test(pem)) throw new Error('private');
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new BundleError('bundle-key-invalid', `${where}: not a PEM public key`);
  }
  checkP256(publicKey, where);
  return { keyId: keyIdOf(publicKey), publicKey };
}

function checkP256(k: KeyObject, where: string): void {
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BundleError('bundle-key-invalid', `${where}: not an ECDSA P-256 key`);
  }
}
