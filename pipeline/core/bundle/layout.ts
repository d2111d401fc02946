/**
 * Where things live inside a bundle file. The order is fixed: `manifest.json`, then one Sigstore bundle per signer
 * (`signatures/<keyId>.sigstore.json`, by key ID), then the components in manifest order (`components/<name>`).
 * Manifest and signatures come first so that a verifier checks the signatures before it reads any component, and
 * then reads each component only up to the size the signed manifest gives.
 */
import { MANIFEST_NAME } from './manifest.js';

/** The first entry: the manifest. */
export const MANIFEST_ENTRY = MANIFEST_NAME;
/** Directory of the Sigstore bundles, one per signer. */
export const SIGNATURE_PREFIX = 'signatures/';
/** File name suffix of a stored Sigstore bundle. */
export const SIGNATURE_SUFFIX = '.sigstore.json';
/** Directory of the components. */
export const COMPONENT_PREFIX = 'components/';

/** At most this many signatures are read from one bundle. */
export const MAX_SIGNATURES = 32;

/** The entry name of the signature by `keyId`. */
export function signatureEntry(keyId: string): string {
  return `${SIGNATURE_PREFIX}${keyId}${SIGNATURE_SUFFIX}`;
}

/** The entry name of component `name`. */
export function componentEntry(name: string): string {
  return `${COMPONENT_PREFIX}${name}`;
}
