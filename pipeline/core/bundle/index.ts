/**
 * Signed policy bundles: the format (a deterministic ustar file holding the canonical-JSON manifest, one Sigstore
 * v0.3 bundle per signer and the components), signing (ECDSA P-256 over a DSSE envelope of an in-toto Statement
 * whose subject and predicate are the manifest), trust roots with k-of-n thresholds and signed rotation, and the
 * agent's gate that verifies a bundle as it streams in and rejects every attack with its own stable code.
 * Pure: keys, clocks and bytes are handed in; node:crypto is the only dependency.
 */
export { PALISADE_ABI_VERSION } from './abi-version.js';
export { assembleBundle, cosignBundle, packBundle, signManifest, type AssembledBundle } from './assemble.js';
export { BoundedByteReader, DEFAULT_MAX_BUNDLE_BYTES, readBounded, type BoundedReadOptions, type ByteSource } from './bounded-reader.js';
export { canonicalJson, canonicalJsonBytes } from './canonical-json.js';
export { readBundleContents, type BundleContents } from './contents.js';
export { COMPONENT, REQUIRED_COMPONENTS, componentOrder, isComponentName, type BundleComponent } from './components.js';
export { isSha256Digest, sha256Digest, sha256Hex } from './digest.js';
export { preAuthEncoding, signDsse, verifyDsse } from './dsse.js';
export { BUNDLE_ERROR_EXIT, BundleError, type BundleErrorCode } from './errors.js';
export { BundleGate, type BundleGateState } from './gate.js';
export {
  canonicalPublicKey,
  canonicalSpkiDer,
  generateSigningKeyPem,
  keyIdOf,
  parsePublicKey,
  parseSigningKey,
  publicKeyPem,
  type PublicKeyEntry,
  type SigningKey,
} from './keys.js';
export { COMPONENT_PREFIX, MANIFEST_ENTRY, SIGNATURE_PREFIX, componentEntry, signatureEntry } from './layout.js';
export {
  BUNDLE_FORMAT_VERSION,
  MANIFEST_NAME,
  createManifest,
  manifestBytes,
  manifestDigest,
  parseManifest,
  rfc3339,
  type BundleManifest,
  type ComponentRef,
  type ManifestInput,
} from './manifest.js';
export { DEFAULT_MAX_EDGE_PROBES, MAX_PROBE_VECTORS, buildProbeVectors, generateEdgeFlows, parseProbeVectors, probesJsonl, type ProbeVector } from './probes.js';
export { SIGSTORE_BUNDLE_MEDIA_TYPE, parseSigstoreBundle, toSigstoreBundle, type ParsedSignature, type SigstoreBundleJson } from './sigstore-bundle.js';
export { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, PALISADE_PREDICATE_TYPE, parseStatement, statementBytes } from './statement.js';
export { TAR_BLOCK, paddedSize, parseTarHeader, readTarEntries, tarSize, writeTar, type TarEntry, type TarHeader } from './tar.js';
export {
  ROOT_PAYLOAD_TYPE,
  createRootSigned,
  parseRootFile,
  signRoot,
  trustOfKey,
  trustOfRoot,
  verifyRootChain,
  type RootFile,
  type RootSigned,
  type TrustPolicy,
} from './trust-root.js';
export { verifyBundle, verifyBundleStream, type VerifiedBundle, type VerifyOptions } from './verify.js';
export { rollbackBundleOf, type RollbackInput } from './rollback.js';
