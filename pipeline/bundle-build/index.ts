/**
 * The bundle build stage: turns a policy directory and recorded flows into one (signed) bundle file, and reads the
 * keys and trust the commands need. It does I/O (files, git), so it lives outside the pure core; `palisade compile`
 * and `palisade publish` both call `buildBundleFromDir`.
 */
export { buildBundleFromDir, defaultBpfObjectPath, DEFAULT_BUNDLE_LIFETIME_MS, DEFAULT_MAX_RECORDED_PROBES, type BuildFromDirOptions, type BuiltBundle } from './build-from-dir.js';
export { composeBundle, type BundleEngines, type ComposeInput, type ComposedBundle } from './compose.js';
export { formatDuration, parseDuration } from './duration.js';
export { REFERENCE_ENGINES } from './engines.js';
export { BundleExpiryError, PolicyErrorsError, type BundleExpiryCode } from './errors.js';
export { DEFAULT_MIN_VALIDITY_MS, validityProblem, type CreatedAtOrigin } from './validity.js';
export { SIGNING_KEY_ENV, readPublicKeyFile, readSigningKeys, readTrust } from './keys-io.js';
export { readSourceInfo, type SourceInfo } from './source-info.js';
