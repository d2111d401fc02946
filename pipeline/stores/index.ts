/**
 * Bundle stores: where signed bundles are published and fetched. One interface ({@link BundleStore}: publish with
 * compare-and-swap on the serial, latest, get by digest with a size bound, watch, list) and three implementations
 * chosen by URL ({@link openStore}): the filesystem store (the embedded default, which also lists a page at a time),
 * the HTTP client of `palisade serve` (whose server is here too), and an OCI registry repository. Beside the bundles,
 * records ({@link RecordStore}: small JSON documents changed by compare-and-swap, for rollout state and node
 * targets and statuses) in the filesystem store, over HTTP and in an OCI registry ({@link openRecordStore}), and as
 * Kubernetes custom resources ({@link KubernetesRecordStore}). Failures are
 * StoreErrors with a typed code (full, read-only, timeout, conflict…) whose messages say what failed and why.
 */
export type { BundleDescriptor, BundlePage, BundleStore, GetOptions, PublishableBundle, PublishOptions, PagedBundleSource, StreamingBundleSource, UnlistedBundleStore, WatchOptions } from './types.js';
export { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
export { StoreError, serialConflict } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { sha256Digest, isDigest, parseDescriptor } from './digest.js';
export { FsBundleStore } from './fs-store.js';
export { writeFileAtomic, writeNewFilesTogether } from './fs-atomic.js';
export type { FileToWrite } from './fs-atomic.js';
export type { FsStoreOptions } from './fs-store.js';
export { HttpBundleStore } from './http-client-store.js';
export type { HttpStoreOptions } from './http-client-store.js';
export { OciBundleStore, PALISADE_ARTIFACT_TYPE, OCI_EMPTY_DESCRIPTOR } from './oci-store.js';
export type { OciStoreOptions } from './oci-store.js';
export { startStoreServer } from './http-server.js';
export type { RunningStoreServer, StoreServerOptions } from './http-server.js';
export { openStore, openRecordStore, ociCredentialsFromEnv } from './open-store.js';
export { checkRecordName, isRecordName, MAX_RECORD_BYTES, MAX_RECORD_PAGE_BYTES, readRecordsUnder } from './records.js';
export type { CasStrength, ExpectedVersion, NamedRecord, RecordStore, StoredRecord } from './records.js';
export { OciRecordStore, RECORD_ARTIFACT_TYPE, recordTag } from './oci-records.js';
export type { OciRecordStoreOptions } from './oci-records.js';
export { FsRecordStore, type FsRecordTestHooks } from './fs-records.js';
export { HttpRecordStore, RECORDS_PREFIX } from './http-records.js';
export { KubernetesRecordStore, DEFAULT_KUBE_NAMESPACE, KUBE_GROUP, KUBE_VERSION, POLICY_ROLLOUTS, POLICY_NODES, CURRENT_ROLLOUT_OBJECT } from './kubernetes-records.js';
export type { KubernetesRecordsOptions, PolicyRolloutView } from './kubernetes-records.js';
export { loadKubeConfig } from './kube-config.js';
export type { RegistryCredentials } from './oci-auth.js';
export type { OpenStoreOptions } from './open-store.js';
export { loadStoreToken, bearerMatches } from './http-auth.js';
export { FS_PUBLISH_STEPS, FS_RECORD_STEPS, faultPoint } from './fault.js';
export { pollLatest } from './watch.js';
export { peekBundle, readBundleSerial } from './bundle-serial.js';
export type { BundlePeek } from './bundle-serial.js';
