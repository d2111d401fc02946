/**
 * Records in an OCI registry repository, beside the bundles: one tag per record, naming a small OCI artifact
 * (artifactType {@link RECORD_ARTIFACT_TYPE}, the empty config and layer) whose annotations hold the record:
 *
 *   tag        `record.` + the name with each `/` as `_S_` (names are lowercase, so the upper-case S is unambiguous),
 *              e.g. `record.nodes_S_node-a_S_status`; names whose tag would pass 128 characters are refused
 *   version    the manifest's digest. The manifest names the version it replaced and its writer, so every write
 *              makes a new digest even when the value repeats (no A-B-A)
 *
 * Compare-and-swap, honestly: the distribution spec has no conditional tag update (opencontainers/distribution-spec
 * #250 and PR #251 propose If-Match and are open since 2021; distribution 2.8 ignores If-Match, see the tests), so
 * a write here is *verified*, not atomic: read the tag and refuse unless it holds the expected version, PUT, read
 * the tag back and report `store-conflict` unless it holds what we wrote. What that guarantees:
 * - a stale writer is refused before it writes (as with atomic CAS);
 * - a concurrent write that lands after ours and before our read-back is seen: we report a conflict (the record
 *   then holds the other value, not ours) and the caller re-reads, as after any conflict;
 * - NOT covered: a writer that checked before our PUT and PUTs after our read-back replaces our value unseen.
 *   The window is that writer's check-to-PUT time (one registry round trip).
 * So records on a registry need one writer per record, which the rollout protocol gives: an agent writes only
 * `nodes/<its node>/status`, the controller the rollout and target records, and the controller refuses to act
 * while another controller's heartbeat is fresh (controller.ts). Operator commands (pause, resume, promote,
 * abort) are the one second writer of the rollout record; they are checked and read back like any write.
 * Superseded record manifests become untagged: the registry's garbage collection reclaims them.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { escapeUntrusted } from '../core/text/escape-untrusted.js';
import { StoreError } from './errors.js';
import { sha256Digest } from './digest.js';
import { OCI_EMPTY_DESCRIPTOR } from './oci-store.js';
import { checkRepositoryName, OCI_MANIFEST_MEDIA_TYPE, RegistryClient, type RegistryTarget } from './oci-registry.js';
import { checkRecordName, checkRecordPrefix, MAX_RECORD_BYTES, MAX_RECORD_LIST, recordConflict, recordText, type ExpectedVersion, type RecordStore, type StoredRecord } from './records.js';

/** `artifactType` of a record artifact. */
export const RECORD_ARTIFACT_TYPE = 'application/vnd.palisade.record.v1+json';
const TAG_PREFIX = 'record.';
const SLASH = '_S_';
const MAX_TAG = 128;
const ANN_NAME = 'dev.palisade.record.name';
const ANN_VALUE = 'dev.palisade.record.value';
const ANN_PREVIOUS = 'dev.palisade.record.previous';
const ANN_WRITER = 'dev.palisade.record.writer';

/** The tag of a record. @throws StoreError `store-bad-input` for a malformed name or one too long for a tag. */
export function recordTag(name: string): string {
  checkRecordName(name);
  const tag = `${TAG_PREFIX}${name.replaceAll('/', SLASH)}`;
  if (tag.length > MAX_TAG) {
    throw new StoreError('store-bad-input', `record name '${name.slice(0, 80)}…' is too long for an OCI tag (${tag.length} > ${MAX_TAG} characters)`, { detail: 'record name too long for an OCI tag' });
  }
  return tag;
}

/** The record name of a tag, or undefined for a tag that is not a record's. */
export function recordNameOfTag(tag: string): string | undefined {
  return tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length).replaceAll(SLASH, '/') : undefined;
}

/** Options of {@link OciRecordStore}. */
export interface OciRecordStoreOptions extends Omit<RegistryTarget, 'origin' | 'repository'> {
  /** Who writes, recorded in each write and named in conflicts (default `<host>:<pid>:<random>`). */
  readonly writer?: string;
}

/** A stored record with who wrote it. */
interface ReadRecord extends StoredRecord {
  readonly writer: string;
}

/** The records of an OCI registry repository (the same repository as its bundles). */
export class OciRecordStore implements RecordStore {
  readonly location: string;
  readonly casStrength = 'verified' as const;
  readonly writer: string;
  readonly #registry: RegistryClient;
  #emptyBlobPushed = false;

  /** @param origin `http://host:port` or `https://host[:port]`. */
  constructor(origin: string, repository: string, options: OciRecordStoreOptions = {}) {
    checkRepositoryName(repository);
    this.#registry = new RegistryClient({ ...options, origin, repository });
    this.location = this.#registry.location;
    this.writer = (options.writer ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`).slice(0, 200);
  }

  async getRecord(name: string, options: { signal?: AbortSignal } = {}): Promise<StoredRecord | undefined> {
    const rec = await this.#read(name, options.signal);
    return rec && { value: rec.value, version: rec.version };
  }

  async putRecord(name: string, value: unknown, expect: ExpectedVersion, options: { signal?: AbortSignal } = {}): Promise<string> {
    const tag = recordTag(name);
    const text = recordText(value);
    const before = await this.#read(name, options.signal);
    if ((before?.version ?? null) !== expect) throw recordConflict(this.location, name, expect, before?.version);
    if (!this.#emptyBlobPushed) {
      await this.#registry.pushBlob(OCI_EMPTY_DESCRIPTOR.digest, new TextEncoder().encode('{}'), options.signal);
      this.#emptyBlobPushed = true;
    }
    const bytes = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: RECORD_ARTIFACT_TYPE,
      config: OCI_EMPTY_DESCRIPTOR,
      layers: [OCI_EMPTY_DESCRIPTOR],
      annotations: {
        [ANN_NAME]: name,
        [ANN_PREVIOUS]: expect ?? '',
        [ANN_WRITER]: this.writer,
        'org.opencontainers.image.created': new Date().toISOString(),
        [ANN_VALUE]: text,
      },
    }));
    const version = sha256Digest(bytes);
    const answered = await this.#registry.putManifest(tag, bytes, options.signal);
    if (answered !== undefined && answered !== version) throw new StoreError('store-protocol', `${this.location}: the registry stored record ${name} as ${answered}, not ${version}`);
    // No conditional PUT: read back, so a writer that landed after us is seen (module comment).
    const after = await this.#read(name, options.signal);
    if (after?.version !== version) {
      const detail = `record ${name} was written concurrently${after ? ` by ${after.writer}` : ''}: expected our version ${version}, found ${after?.version ?? 'none'}`;
      throw new StoreError('store-conflict', `${this.location}: ${detail}`, { detail });
    }
    return version;
  }

  async listRecords(prefix: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    checkRecordPrefix(prefix);
    const names = (await this.#registry.listTags(options.signal)).map(recordNameOfTag).filter((n): n is string => n !== undefined && n.startsWith(prefix));
    names.sort();
    return names.slice(0, MAX_RECORD_LIST);
  }

  async #read(name: string, signal: AbortSignal | undefined): Promise<ReadRecord | undefined> {
    const fetched = await this.#registry.getManifest(recordTag(name), signal);
    if (!fetched) return undefined;
    const bad = (why: string): StoreError => new StoreError('store-corrupt', `${this.location}: record ${name} is not a Palisade record artifact: ${why}`);
    let m: { artifactType?: unknown; annotations?: Record<string, unknown> };
    try {
      m = JSON.parse(fetched.text) as typeof m;
    } catch {
      throw bad('manifest is not JSON');
    }
    if (m?.artifactType !== RECORD_ARTIFACT_TYPE) throw bad(`artifactType is ${String(m?.artifactType).slice(0, 80)}`);
    const a = m.annotations ?? {};
    if (a[ANN_NAME] !== name) throw bad('it names another record');
    const text = a[ANN_VALUE];
    if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_RECORD_BYTES) throw bad('no value, or one larger than a record may be');
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      throw bad('its value is not JSON');
    }
    // Another writer's text: escaped, since it ends up in conflict messages and logs.
    const writer = typeof a[ANN_WRITER] === 'string' ? escapeUntrusted((a[ANN_WRITER] as string).slice(0, 200)) : 'an unknown writer';
    return { value, version: sha256Digest(fetched.bytes), writer };
  }
}
