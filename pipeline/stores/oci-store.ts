/**
 * The OCI registry store: each bundle is an OCI artifact (image manifest with `artifactType`
 * {@link PALISADE_ARTIFACT_TYPE}, the empty config, one layer per bundle entry) tagged three ways: `<serial>`,
 * `sha256-<hex>` of the bundle file (for `get`), and `latest`.
 *
 * Compare-and-swap, honestly: the distribution spec has no conditional manifest PUT, and distribution 2.8 ignores
 * If-Match / If-None-Match on it (a test shows this against the real registry). So publish checks the serial
 * against `latest` and that the serial tag is free, pushes, then reads `latest` back and repairs it when a slower
 * concurrent publisher of a lower serial overwrote it. What remains: two publishers of the same serial racing
 * between the check and the PUT can both succeed (the later tag wins), and `latest` can briefly point below the
 * highest serial tag. Readers should still verify serials (agents refuse rollbacks), and a registry that needs
 * strict CAS should sit behind `palisade serve`.
 */
import { StoreError, serialConflict } from './errors.js';
import { checkFetched, checkPublishable, digestHex, isDigest, isSerial, sha256Digest } from './digest.js';
import { checkRepositoryName, RegistryClient } from './oci-registry.js';
import type { RegistryTarget } from './oci-registry.js';
import { ENTRY_MEDIA_TYPE, entryMediaType } from './oci-layers.js';
import { joinBundle, splitBundle } from './bundle-entries.js';
import { pollLatest } from './watch.js';
import { tarSize } from '../core/bundle/tar.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './types.js';
import type { BundleDescriptor, BundleStore, GetOptions, PublishableBundle, PublishOptions, UnlistedBundleStore, WatchOptions } from './types.js';

/** `artifactType` of a Palisade bundle artifact. */
export const PALISADE_ARTIFACT_TYPE = 'application/vnd.palisade.bundle.v1';
/** The OCI empty descriptor: `{}`, used as config of artifacts without one. */
export const OCI_EMPTY_DESCRIPTOR = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;
const ANN_SERIAL = 'dev.palisade.bundle.serial';
const ANN_DIGEST = 'dev.palisade.bundle.digest';
const ANN_SIZE = 'dev.palisade.bundle.size';
const ANN_TITLE = 'org.opencontainers.image.title';
const LATEST_TAG = 'latest';
// How many times a publish re-asserts `latest` after seeing a lower serial there.
const MAX_REPAIRS = 3;

interface Layer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Record<string, string>;
}

/** Options of {@link OciBundleStore}. */
export interface OciStoreOptions extends Omit<RegistryTarget, 'origin' | 'repository'> {
  /** Largest bundle accepted on publish, in bytes. */
  readonly maxBundleBytes?: number;
}

/** A bundle store in an OCI registry repository. */
export class OciBundleStore implements BundleStore, UnlistedBundleStore {
  readonly location: string;
  readonly #registry: RegistryClient;
  readonly #maxBytes: number;

  /**
   * @param origin `http://host:port` or `https://host[:port]`.
   * @param repository the repository name, e.g. `palisade/bundles`.
   */
  constructor(origin: string, repository: string, options: OciStoreOptions = {}) {
    checkRepositoryName(repository);
    this.#registry = new RegistryClient({ ...options, origin, repository });
    this.location = this.#registry.location;
    this.#maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  }

  /** @inheritdoc */
  async publish(bundle: PublishableBundle, options: PublishOptions = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#maxBytes);
    const signal = options.signal;
    const descriptor: BundleDescriptor = { serial: bundle.serial, digest: sha256Digest(bundle.bytes), size: bundle.bytes.byteLength };
    const entries = this.#entriesOf(bundle.bytes, descriptor);

    const current = await this.latest({ signal });
    this.#checkCas(descriptor.serial, current, options.expectLatestSerial);
    if (await this.#registry.getManifest(String(descriptor.serial), signal)) {
      throw new StoreError('store-conflict', `${this.location}: serial ${descriptor.serial} is already tagged`, current ? { current } : {});
    }

    const manifest = await this.#pushArtifact(descriptor, entries, signal);
    // Content tag and serial tag first: `latest` only ever names an artifact that is complete.
    await this.#registry.putManifest(`sha256-${digestHex(descriptor.digest)}`, manifest, signal);
    await this.#registry.putManifest(String(descriptor.serial), manifest, signal);

    for (let repair = 0; ; repair++) {
      // Narrow the race: re-check right before moving `latest`.
      const now = await this.latest({ signal });
      if (now && now.serial >= descriptor.serial) {
        if (now.digest === descriptor.digest && now.serial === descriptor.serial) return descriptor;
        throw serialConflict(this.location, descriptor.serial, now);
      }
      if (repair >= MAX_REPAIRS) throw serialConflict(this.location, descriptor.serial, now);
      await this.#registry.putManifest(LATEST_TAG, manifest, signal);
    }
  }

  /** @inheritdoc Tags the artifact only by its digest (`sha256-<hex>`): no serial tag, `latest` unchanged. */
  async storeUnlisted(bundle: PublishableBundle, options: { signal?: AbortSignal } = {}): Promise<BundleDescriptor> {
    checkPublishable(bundle.serial, bundle.bytes, this.#maxBytes);
    const descriptor: BundleDescriptor = { serial: bundle.serial, digest: sha256Digest(bundle.bytes), size: bundle.bytes.byteLength };
    const tag = `sha256-${digestHex(descriptor.digest)}`;
    const have = await this.#readArtifact(tag, options.signal);
    if (have && have.descriptor.digest === descriptor.digest && have.descriptor.serial === descriptor.serial) return descriptor;
    await this.#registry.putManifest(tag, await this.#pushArtifact(descriptor, this.#entriesOf(bundle.bytes, descriptor), options.signal), options.signal);
    return descriptor;
  }

  /** @inheritdoc */
  async latest(options: { signal?: AbortSignal | undefined } = {}): Promise<BundleDescriptor | undefined> {
    return (await this.#readArtifact(LATEST_TAG, options.signal))?.descriptor;
  }

  /** @inheritdoc */
  async get(digest: string, options: GetOptions = {}): Promise<Uint8Array> {
    const artifact = await this.#readArtifact(`sha256-${digestHex(digest)}`, options.signal);
    if (!artifact || artifact.descriptor.digest !== digest) throw new StoreError('store-not-found', `${this.location}: no bundle ${digest}`);
    const max = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    const total = tarSize(artifact.layers.map((l) => l.size));
    // Decide on the announced sizes before downloading anything.
    if (total > max || (options.expectedSize !== undefined && total > options.expectedSize)) {
      throw new StoreError('store-too-large', `${this.location}: ${digest} would be ${total} bytes, more than allowed`);
    }
    const entries = [];
    for (const l of artifact.layers) {
      const bytes = await this.#registry.getBlob(l.digest, l.size, l.size, options.signal);
      checkFetched(this.location, l.digest, bytes, l.size);
      entries.push({ name: l.annotations[ANN_TITLE]!, bytes });
    }
    let bytes: Uint8Array;
    try {
      bytes = joinBundle(entries);
    } catch (err) {
      throw new StoreError('store-corrupt', `${this.location}: ${digest}: layer titles do not form a bundle: ${(err as Error).message}`, { cause: err });
    }
    checkFetched(this.location, digest, bytes, options.expectedSize);
    return bytes;
  }

  /** @inheritdoc */
  watch(sinceSerial: number, options: WatchOptions): AsyncIterable<BundleDescriptor> {
    return pollLatest(() => this.latest({ signal: options.signal }), sinceSerial, options);
  }

  /** @inheritdoc Reads one manifest per serial tag. */
  async list(options: { signal?: AbortSignal } = {}): Promise<BundleDescriptor[]> {
    const serials = (await this.#registry.listTags(options.signal)).filter((t) => /^[1-9]\d{0,15}$/.test(t)).map(Number)
      .filter(isSerial).sort((a, b) => a - b);
    const out: BundleDescriptor[] = [];
    for (const s of serials) {
      const a = await this.#readArtifact(String(s), options.signal);
      if (a) out.push(a.descriptor);
    }
    return out;
  }

  /** The bundle's tar entries. @throws StoreError `store-bad-input` unless they join back into the same bytes. */
  #entriesOf(bytes: Uint8Array, descriptor: BundleDescriptor): ReturnType<typeof splitBundle> {
    const entries = splitBundle(bytes);
    if (sha256Digest(joinBundle(entries)) !== descriptor.digest) {
      throw new StoreError('store-bad-input', 'not a bundle file: its tar is not in the canonical form the bundle format writes');
    }
    return entries;
  }

  /** Pushes the config and one blob per entry. @returns the artifact's manifest (not yet tagged). */
  async #pushArtifact(descriptor: BundleDescriptor, entries: ReturnType<typeof splitBundle>, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const layers: Layer[] = [];
    await this.#registry.pushBlob(OCI_EMPTY_DESCRIPTOR.digest, new TextEncoder().encode('{}'), signal);
    for (const e of entries) {
      const digest = sha256Digest(e.bytes);
      await this.#registry.pushBlob(digest, e.bytes, signal);
      layers.push({ mediaType: entryMediaType(e.name), digest, size: e.bytes.byteLength, annotations: { [ANN_TITLE]: e.name } });
    }
    return new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: PALISADE_ARTIFACT_TYPE,
      config: OCI_EMPTY_DESCRIPTOR,
      layers,
      annotations: {
        [ANN_SERIAL]: String(descriptor.serial),
        [ANN_DIGEST]: descriptor.digest,
        [ANN_SIZE]: String(descriptor.size),
        'org.opencontainers.image.created': new Date().toISOString(),
      },
    }));
  }

  #checkCas(serial: number, current: BundleDescriptor | undefined, expected: number | undefined): void {
    const have = current?.serial ?? 0;
    if (serial <= have || (expected !== undefined && expected !== have)) throw serialConflict(this.location, serial, current, expected);
  }

  /** Reads and checks the Palisade artifact at a tag; `undefined` when the tag does not exist. */
  async #readArtifact(tag: string, signal: AbortSignal | undefined): Promise<{ descriptor: BundleDescriptor; layers: Layer[] } | undefined> {
    const fetched = await this.#registry.getManifest(tag, signal);
    if (!fetched) return undefined;
    const where = `${this.location}:${tag}`;
    const bad = (why: string): StoreError => new StoreError('store-corrupt', `${where}: not a Palisade bundle artifact: ${why}`);
    let m: { artifactType?: unknown; layers?: unknown; annotations?: Record<string, unknown> };
    try {
      m = JSON.parse(fetched.text) as typeof m;
    } catch {
      throw bad('manifest is not JSON');
    }
    if (m.artifactType !== PALISADE_ARTIFACT_TYPE) throw bad(`artifactType is ${String(m.artifactType)}`);
    const serial = Number(m.annotations?.[ANN_SERIAL]);
    const digest = m.annotations?.[ANN_DIGEST];
    const size = Number(m.annotations?.[ANN_SIZE]);
    if (!isSerial(serial) || !isDigest(digest) || !Number.isSafeInteger(size) || size <= 0) throw bad('serial, digest or size annotation missing');
    if (!Array.isArray(m.layers) || m.layers.length === 0 || m.layers.length > 256) throw bad('no layers');
    const layers = m.layers.map((l: unknown, i: number): Layer => {
      const o = l as Partial<Layer> | null;
      const title = o?.annotations?.[ANN_TITLE];
      if (!o || !isDigest(o.digest) || !Number.isSafeInteger(o.size) || (o.size ?? -1) < 0 || typeof title !== 'string') throw bad(`layer ${i}`);
      return { mediaType: typeof o.mediaType === 'string' ? o.mediaType : ENTRY_MEDIA_TYPE, digest: o.digest, size: o.size!, annotations: { [ANN_TITLE]: title } };
    });
    if (tarSize(layers.map((l) => l.size)) !== size) throw bad('layer sizes do not add up to the bundle size');
    return { descriptor: { serial, digest, size }, layers };
  }
}
