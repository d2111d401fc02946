/**
 * The bundle manifest: what a bundle is (serial, source, validity, ABI) and the digest and size of every component.
 * It is signed (as the subject and predicate of an in-toto Statement) and stored as canonical JSON in
 * `manifest.json`; the bundle's identity is the SHA-256 of those bytes.
 */
import { canonicalJsonBytes } from './canonical-json.js';
import { isComponentName, isMediaType, componentOrder, REQUIRED_COMPONENTS } from './components.js';
import type { BundleComponent } from './components.js';
import { sha256Digest, isSha256Digest } from './digest.js';
import { BundleError } from './errors.js';

/** The manifest format this code writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;

/** The name the manifest carries inside the bundle and in the signed statement's subject. */
export const MANIFEST_NAME = 'manifest.json';

/** Upper bound on `manifest.json`, checked before it is parsed (untrusted input). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** A component as the manifest describes it. */
export interface ComponentRef {
  readonly name: string;
  readonly mediaType: string;
  /** `sha256:<hex>` of the component bytes. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
}

/** The manifest, as `manifest.json` holds it (canonical JSON, members in this shape and no others). */
export interface BundleManifest {
  readonly formatVersion: typeof BUNDLE_FORMAT_VERSION;
  /** Monotonic, assigned by the publisher; agents refuse a serial below the one they run (see FORMAT.md, Rollback). */
  readonly serial: number;
  /**
   * Set only on an explicit rollback bundle: the serial it rolls back from. Such a bundle may carry any serial,
   * provided `rollbackOf` is at least the serial the agent runs (the gate's `minRollbackOf`).
   */
  readonly rollbackOf: number | null;
  readonly source: { readonly repository: string; readonly commit: string };
  /** RFC 3339 UTC, whole seconds (`2026-11-28T10:00:00Z`). */
  readonly createdAt: string;
  /** RFC 3339 UTC; after it, agents refuse the bundle (freeze attack). */
  readonly expiresAt: string;
  /** `sha256:<hex>` of the previous bundle's manifest, or null for the first. */
  readonly parentDigest: string | null;
  /** Datapath ABI version the BPF object and tables were built for. */
  readonly abiVersion: number;
  readonly components: readonly ComponentRef[];
}

/** What {@link createManifest} needs besides the components. Times are inputs so that builds reproduce. */
export interface ManifestInput {
  readonly serial: number;
  readonly rollbackOf?: number | null;
  readonly source: { readonly repository: string; readonly commit: string };
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly parentDigest?: string | null;
  readonly abiVersion: number;
}

/**
 * Builds the manifest for `components`, which are sorted into the canonical component order.
 * @throws BundleError `bundle-malformed` when an input is out of range (checked exactly as a reader checks it).
 */
export function createManifest(input: ManifestInput, components: readonly BundleComponent[]): BundleManifest {
  const sorted = [...components].sort((a, b) => componentOrder(a.name, b.name));
  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    serial: input.serial,
    rollbackOf: input.rollbackOf ?? null,
    source: { repository: input.source.repository, commit: input.source.commit },
    createdAt: rfc3339(input.createdAt),
    expiresAt: rfc3339(input.expiresAt),
    parentDigest: input.parentDigest ?? null,
    abiVersion: input.abiVersion,
    components: sorted.map((c) => ({ name: c.name, mediaType: c.mediaType, digest: sha256Digest(c.bytes), size: c.bytes.byteLength })),
  };
  return parseManifest(manifest);
}

/** The canonical bytes of `manifest` (the content of `manifest.json`). */
export function manifestBytes(manifest: BundleManifest): Uint8Array {
  return canonicalJsonBytes(manifest);
}

/** The bundle's identity: `sha256:<hex>` of its canonical manifest bytes. */
export function manifestDigest(manifest: BundleManifest): string {
  return sha256Digest(manifestBytes(manifest));
}

/** RFC 3339 UTC with whole seconds. @throws BundleError `bundle-malformed` for an invalid date. */
export function rfc3339(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new BundleError('bundle-malformed', 'invalid date');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const MANIFEST_KEYS = ['abiVersion', 'components', 'createdAt', 'expiresAt', 'formatVersion', 'parentDigest', 'rollbackOf', 'serial', 'source'];

/**
 * Checks an untrusted value against the manifest format, strictly: unknown members, wrong types, duplicate or
 * missing required components are all errors.
 * @returns the value, typed.
 * @throws BundleError `bundle-malformed` naming the first problem.
 */
export function parseManifest(v: unknown): BundleManifest {
  const bad = (what: string): never => {
    throw new BundleError('bundle-malformed', `manifest: ${what}`);
  };
  if (!isPlainObject(v)) return bad('not an object');
  const extra = Object.keys(v).filter((k) => !MANIFEST_KEYS.includes(k));
  if (extra.length > 0) bad(`unknown member '${extra[0]}'`);
  if (v.formatVersion !== BUNDLE_FORMAT_VERSION) bad(`formatVersion ${JSON.stringify(v.formatVersion)} is not ${BUNDLE_FORMAT_VERSION}`);
  if (!isSerialNumber(v.serial)) bad('serial must be a non-negative safe integer');
  if (v.rollbackOf !== null && !isSerialNumber(v.rollbackOf)) bad('rollbackOf must be null or a non-negative safe integer');
  const src = v.source;
  if (!isPlainObject(src) || Object.keys(src).length !== 2 || typeof src.repository !== 'string' || typeof src.commit !== 'string'
    || src.repository.length > 1024 || src.commit.length > 256) {
    bad('source must be {repository, commit} strings');
  }
  for (const k of ['createdAt', 'expiresAt'] as const) {
    const t = v[k];
    if (typeof t !== 'string' || !TIME_RE.test(t) || Number.isNaN(Date.parse(t))) bad(`${k} must be RFC 3339 UTC with whole seconds`);
  }
  if (Date.parse(v.expiresAt as string) <= Date.parse(v.createdAt as string)) bad('expiresAt must be after createdAt');
  if (v.parentDigest !== null && !isSha256Digest(v.parentDigest)) bad('parentDigest must be null or sha256:<hex>');
  if (!Number.isSafeInteger(v.abiVersion) || (v.abiVersion as number) < 1) bad('abiVersion must be a positive integer');
  if (!Array.isArray(v.components) || v.components.length > 64) return bad('components must be an array of at most 64');
  const names: string[] = [];
  for (const c of v.components as unknown[]) {
    if (!isPlainObject(c) || Object.keys(c).length !== 4) return bad('a component must be {name, mediaType, digest, size}');
    if (!isComponentName(c.name)) bad(`component name ${JSON.stringify(c.name)} is not allowed`);
    if (!isMediaType(c.mediaType)) bad(`component ${String(c.name)}: bad mediaType`);
    if (!isSha256Digest(c.digest)) bad(`component ${String(c.name)}: digest must be sha256:<hex>`);
    if (!Number.isSafeInteger(c.size) || (c.size as number) < 0) bad(`component ${String(c.name)}: bad size`);
    names.push(c.name as string);
  }
  for (let i = 1; i < names.length; i++) {
    if (componentOrder(names[i - 1]!, names[i]!) >= 0) bad(`components out of order or duplicated at '${names[i]}'`);
  }
  for (const r of REQUIRED_COMPONENTS) if (!names.includes(r)) bad(`required component '${r}' is missing`);
  return v as unknown as BundleManifest;
}

function isSerialNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** True for a non-null, non-array object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
