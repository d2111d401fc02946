/**
 * Records: small JSON documents a store keeps beside its bundles (a rollout's state, each node's target and status),
 * each changed only by compare-and-swap on its version, so concurrent writers (two controllers, an agent and an
 * operator) never lose an update unknowingly — on stores whose compare-and-swap is atomic; an OCI registry's is
 * only verified (see {@link CasStrength}). Versions are opaque strings to callers.
 *
 * Names are paths of 1–4 segments of `[a-z0-9][a-z0-9._-]*` (at most 253 characters), e.g. `rollout`,
 * `nodes/node-a/status`; values are JSON of at most {@link MAX_RECORD_BYTES} bytes.
 */
import { StoreError } from './errors.js';

/** A record's value and the version to name when changing it. */
export interface StoredRecord {
  readonly value: unknown;
  readonly version: string;
}

/** A record with its name, as {@link RecordStore.getRecords} returns it. */
export interface NamedRecord extends StoredRecord {
  readonly name: string;
}

/**
 * How strong a store's compare-and-swap is:
 * - `atomic`: the store itself refuses a write whose expected version is stale (link(2), `palisade serve`'s
 *   If-Match). Any number of writers per record is safe.
 * - `verified`: the store cannot refuse (an OCI registry has no conditional tag update): the writer checks the
 *   version before writing and reads the record back after. A conflicting write that lands between the two is
 *   reported as `store-conflict`; one whose check came before our write and whose write lands after our read-back
 *   replaces ours unseen. Safe with one writer per record (see oci-records.ts for the protocol that keeps it so).
 */
export type CasStrength = 'atomic' | 'verified';

/** What a {@link RecordStore.putRecord} expects to find: the version it read, or nothing (`null`: a new record). */
export type ExpectedVersion = string | null;

/** The records of one store. */
export interface RecordStore {
  /** A printable location without credentials, for messages. */
  readonly location: string;
  /**
   * The record, or undefined when there is none.
   * @throws StoreError `store-bad-input` for a malformed name; `store-corrupt` for an unreadable record; I/O codes.
   */
  getRecord(name: string, options?: { signal?: AbortSignal }): Promise<StoredRecord | undefined>;
  /**
   * Writes the record when its current version is `expect` (null: it must not exist yet).
   * @returns the new version.
   * @throws StoreError `store-conflict` when the record changed (or exists, or is gone) since; the record is
   *   unchanged then. `store-bad-input` for a malformed name or a value that is not JSON or too large.
   */
  putRecord(name: string, value: unknown, expect: ExpectedVersion, options?: { signal?: AbortSignal }): Promise<string>;
  /** Names of the records whose name starts with `prefix`, sorted. */
  listRecords(prefix: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /**
   * Every record whose name starts with `prefix`, with values, sorted by name, in as few requests as the store
   * allows (`palisade serve`: one per page of {@link MAX_RECORD_PAGE_BYTES}). Absent on stores where it would cost
   * one request per record anyway: use {@link readRecordsUnder}, which falls back to listing and reading each.
   */
  getRecords?(prefix: string, options?: { signal?: AbortSignal }): Promise<NamedRecord[]>;
  /** Absent means `atomic`. */
  readonly casStrength?: CasStrength;
}

/**
 * The records under `prefix` that `wanted` accepts (by name), with values: one listing call where the store has
 * {@link RecordStore.getRecords}, else a listing and one read per wanted name.
 */
export async function readRecordsUnder(records: RecordStore, prefix: string, wanted: (name: string) => boolean, options: { signal?: AbortSignal } = {}): Promise<NamedRecord[]> {
  if (records.getRecords) return (await records.getRecords(prefix, options)).filter((r) => wanted(r.name));
  return readEachRecord(records, prefix, wanted, options);
}

/** The records under `prefix` that `wanted` accepts: a listing, then one read per name. */
export async function readEachRecord(records: RecordStore, prefix: string, wanted: (name: string) => boolean, options: { signal?: AbortSignal } = {}): Promise<NamedRecord[]> {
  return readNamedRecords(records, (await records.listRecords(prefix, options)).filter(wanted), options);
}

/** How many records are read at once when each is its own request or file. */
export const RECORD_READ_CONCURRENCY = 16;

/** The named records in order, {@link RECORD_READ_CONCURRENCY} reads at a time; names without a record are left out. */
export async function readNamedRecords(records: RecordStore, names: readonly string[], options: { signal?: AbortSignal } = {}): Promise<NamedRecord[]> {
  const out: NamedRecord[] = [];
  for (let i = 0; i < names.length; i += RECORD_READ_CONCURRENCY) {
    const batch = names.slice(i, i + RECORD_READ_CONCURRENCY);
    const got = await Promise.all(batch.map((name) => records.getRecord(name, options)));
    got.forEach((rec, j) => {
      if (rec) out.push({ name: batch[j]!, ...rec });
    });
  }
  return out;
}

/** Largest record value, in bytes of its JSON text. */
export const MAX_RECORD_BYTES = 256 * 1024;
/** Most names one listing returns. */
export const MAX_RECORD_LIST = 100_000;
/** Largest page of records with values one request returns (a page holds at least one record). */
export const MAX_RECORD_PAGE_BYTES = 4 * 1024 * 1024;

const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;

/** True for a well-formed record name (see the module comment). */
export function isRecordName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const segments = name.split('/');
  return segments.length <= 4 && segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}

/** @throws StoreError `store-bad-input` unless `name` is a well-formed record name. */
export function checkRecordName(name: string): void {
  if (!isRecordName(name)) {
    throw new StoreError('store-bad-input', `malformed record name '${name.slice(0, 80)}' (1–4 segments of [a-z0-9][a-z0-9._-]*)`, { detail: 'malformed record name' });
  }
}

/** A prefix for listing: empty, or a name-like text that may end in `/`. @throws StoreError `store-bad-input`. */
export function checkRecordPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!isRecordName(trimmed)) throw new StoreError('store-bad-input', `malformed record prefix '${prefix.slice(0, 80)}'`, { detail: 'malformed record prefix' });
}

/**
 * The JSON text of a record value.
 * @throws StoreError `store-bad-input` when the value is not JSON-serialisable or its text is too large.
 */
export function recordText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new StoreError('store-bad-input', `record value is not JSON: ${(err as Error).message}`, { cause: err, detail: 'record value is not JSON' });
  }
  if (text === undefined) throw new StoreError('store-bad-input', 'record value is not JSON', { detail: 'record value is not JSON' });
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
    throw new StoreError('store-bad-input', `record value is ${Buffer.byteLength(text)} bytes, more than ${MAX_RECORD_BYTES}`, { detail: `record value larger than ${MAX_RECORD_BYTES} bytes` });
  }
  return text;
}

/** The conflict every record store raises when a compare-and-swap fails. */
export function recordConflict(location: string, name: string, expect: ExpectedVersion, actual: string | undefined): StoreError {
  const want = expect === null ? 'no record' : `version ${expect}`;
  const have = actual === undefined ? 'none' : `version ${actual}`;
  const detail = `record ${name} changed: expected ${want}, found ${have}`;
  return new StoreError('store-conflict', `${location}: ${detail}`, { detail });
}
