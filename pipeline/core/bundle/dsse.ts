/**
 * DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding that is what actually gets signed, and
 * the ECDSA P-256 / SHA-256 sign and verify over it. Signatures are ASN.1 DER, as Sigstore and `openssl dgst` use.
 */
import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimal byte counts.
 * @returns the bytes a DSSE signature covers.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.byteLength} ${payloadType} ${payload.byteLength} `);
  const out = new Uint8Array(head.byteLength + payload.byteLength);
  out.set(head);
  out.set(payload, head.byteLength);
  return out;
}

/** ECDSA-SHA256 DER signature of PAE(payloadType, payload) with a P-256 private key. */
export function signDsse(payloadType: string, payload: Uint8Array, key: KeyObject): Uint8Array {
  return cryptoSign('sha256', preAuthEncoding(payloadType, payload), { key, dsaEncoding: 'der' });
}

/** True when `sig` (DER) is a valid ECDSA-SHA256 signature of PAE(payloadType, payload) by `key`. Never throws. */
export function verifyDsse(payloadType: string, payload: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  try {
    return cryptoVerify('sha256', preAuthEncoding(payloadType, payload), { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}
