/**
 * The bundle store contract: where signed bundles are published and where agents fetch them from. Every
 * implementation (filesystem, HTTP, OCI) keeps the same promises: content-addressed blobs, a `latest` pointer moved
 * only forward by compare-and-swap on the serial, and no reader ever sees a half-written bundle.
 */

/** What a store says about one published bundle. `digest` is `sha256:<64 hex>` of the bundle file bytes. */
export interface BundleDescriptor {
  /** The bundle's monotonic serial (manifest `serial`), a positive safe integer. */
  readonly serial: number;
  /** `sha256:<hex>` of the bundle file. */
  readonly digest: string;
  /** Size of the bundle file in bytes. */
  readonly size: number;
}

/** A bundle ready to publish: the bundle file bytes and the serial its manifest carries. */
export interface PublishableBundle {
  readonly serial: number;
  readonly bytes: Uint8Array;
}

/** Options of {@link BundleStore.publish}. */
export interface PublishOptions {
  /**
   * Compare-and-swap guard: the serial the publisher saw as latest when it built the bundle (0 = empty store). When
   * set, the publish fails with `store-conflict` unless the latest serial is still exactly this. Independently of
   * it, a publish always fails unless the new serial is above the latest one.
   */
  readonly expectLatestSerial?: number;
  readonly signal?: AbortSignal;
}

/** Options of {@link BundleStore.get}. */
export interface GetOptions {
  /** Refuse bundles larger than this many bytes (default DEFAULT_MAX_BUNDLE_BYTES, 64 MiB). */
  readonly maxBytes?: number;
  /** The size the descriptor announced: more or fewer bytes than this is an error. */
  readonly expectedSize?: number;
  readonly signal?: AbortSignal;
}

/** Options of {@link BundleStore.watch}. */
export interface WatchOptions {
  readonly signal: AbortSignal;
  /** How often stores without a push channel look for a change, in milliseconds. */
  readonly pollMs?: number;
}

/** One store of signed bundles. Implementations: filesystem, HTTP client, OCI registry. */
export interface BundleStore {
  /** A printable location without credentials, for messages. */
  readonly location: string;
  /**
   * Stores the bundle and moves `latest` to it, atomically.
   * @returns the descriptor of the published bundle.
   * @throws StoreError `store-conflict` when the serial is not above the latest one or `expectLatestSerial` no
   *   longer holds; the store is unchanged then.
   */
  publish(bundle: PublishableBundle, options?: PublishOptions): Promise<BundleDescriptor>;
  /** The latest bundle, or `undefined` for an empty store. */
  latest(options?: { signal?: AbortSignal }): Promise<BundleDescriptor | undefined>;
  /**
   * The bundle file with this digest, checked against the digest before it is returned.
   * @throws StoreError `store-not-found`, `store-too-large` (endless data), `store-digest-mismatch`.
   */
  get(digest: string, options?: GetOptions): Promise<Uint8Array>;
  /**
   * Yields the latest descriptor each time it moves above `sinceSerial` (then above the last one yielded); ends when
   * the signal aborts. Intermediate serials published in quick succession may be skipped: only latest matters.
   */
  watch(sinceSerial: number, options: WatchOptions): AsyncIterable<BundleDescriptor>;
  /** Every bundle the store has published through `latest`, oldest first. */
  list(options?: { signal?: AbortSignal }): Promise<BundleDescriptor[]>;
}

/**
 * A store that can hand out a bundle file as a stream of known size, unverified (the HTTP server uses it so that
 * many concurrent downloads of a large bundle are not each buffered in memory; clients check the digest).
 */
export interface StreamingBundleSource {
  /** @throws StoreError `store-not-found`, `store-bad-input` for a malformed digest. */
  openBlob(digest: string): Promise<{ readonly size: number; readonly stream: import('node:stream').Readable }>;
}

/** One page of a store's history, oldest first; `next` is the opaque cursor of the following page, if any. */
export interface BundlePage {
  readonly bundles: BundleDescriptor[];
  readonly next: string | undefined;
}

/**
 * A store that can list its history a page at a time without reading all of it (the HTTP server uses it so that a
 * long history costs each request one page).
 */
export interface PagedBundleSource {
  /**
   * Up to `limit` descriptors after the cursor `after` (from the start without one).
   * @throws StoreError `store-bad-input` for a cursor the store did not hand out.
   */
  listPage(options: { after?: string; limit: number }): Promise<BundlePage>;
}

/** Hard ceiling on one bundle file unless the caller asks for another: 64 MiB (the bundle format's own limit). */
export { DEFAULT_MAX_BUNDLE_BYTES } from '../core/bundle/bounded-reader.js';

/**
 * A store that also keeps bundle files that `latest` never names: rollback bundles, which carry the older serial of
 * the bundle they restore, so they cannot be published through the serial-ordered `latest` pointer. Agents fetch
 * them by digest with {@link BundleStore.get} like any other bundle.
 */
export interface UnlistedBundleStore {
  /**
   * Stores the bundle file under its digest without moving `latest` (idempotent: storing the same bytes again is
   * a no-op).
   * @returns its descriptor.
   * @throws StoreError `store-too-large`, and the store's I/O and authorisation codes.
   */
  storeUnlisted(bundle: PublishableBundle, options?: { signal?: AbortSignal }): Promise<BundleDescriptor>;
}
