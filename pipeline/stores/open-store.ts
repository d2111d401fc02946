/**
 * Chooses a store implementation from a store URL: a directory path or `file://…` → filesystem store;
 * `http(s)://…` → HTTP client store (`palisade serve`); `oci://host[:port]/repo` → OCI registry store.
 */
import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.js';
import { FsBundleStore } from './fs-store.js';
import { HttpBundleStore } from './http-client-store.js';
import { OciBundleStore } from './oci-store.js';
import type { BundleStore } from './types.js';
import { FsRecordStore } from './fs-records.js';
import { HttpRecordStore } from './http-records.js';
import { OciRecordStore } from './oci-records.js';
import type { RecordStore } from './records.js';
import type { RegistryCredentials } from './oci-auth.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Bearer token for HTTP uploads or the registry. */
  readonly token?: string | undefined;
  /**
   * Talk plain HTTP to an `oci://` registry. Default: only for loopback hosts (localhost, 127.0.0.0/8, ::1), HTTPS
   * for every other host.
   */
  readonly ociPlainHttp?: boolean;
  /** Largest bundle accepted, in bytes. */
  readonly maxBundleBytes?: number;
  /** Username and password for an `oci://` registry's token service or Basic auth. */
  readonly ociCredentials?: RegistryCredentials | undefined;
}

/**
 * Registry credentials from PALISADE_OCI_USERNAME and PALISADE_OCI_PASSWORD, when both are set.
 */
export function ociCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryCredentials | undefined {
  const username = env.PALISADE_OCI_USERNAME;
  const password = env.PALISADE_OCI_PASSWORD;
  return username && password ? { username, password } : undefined;
}

/**
 * Opens the store a URL names. Nothing is contacted or created yet.
 * @throws StoreError `store-bad-url` for an unknown scheme, a malformed URL, or a `file:` URL naming another host.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): BundleStore {
  const limits = options.maxBundleBytes === undefined ? {} : { maxBundleBytes: options.maxBundleBytes };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (url.trim() === '') throw new StoreError('store-bad-url', 'empty store URL');
    return new FsBundleStore(url, limits);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('store-bad-url', `malformed store URL: ${redact(url)}`);
  }
  switch (scheme) {
    case 'file':
      return new FsBundleStore(localPathOf(parsed, url), limits);
    case 'http':
    case 'https':
      return new HttpBundleStore(url, { token: options.token, ...limits });
    case 'oci': {
      const { origin, repository } = ociTarget(parsed, url, options.ociPlainHttp);
      return new OciBundleStore(origin, repository, { token: options.token, credentials: options.ociCredentials, ...limits });
    }
    default:
      throw new StoreError('store-bad-url', `unknown store URL scheme '${scheme}://' (use a directory, file://, http(s):// or oci://)`);
  }
}

/**
 * Opens the records of the store a URL names: a directory or `file://` (the filesystem store's records),
 * `http(s)://` (`palisade serve`'s record routes) or `oci://` (tags in the registry repository; their
 * compare-and-swap is verified, not atomic: see oci-records.ts). Nothing is contacted or created yet.
 * @throws StoreError `store-bad-url` for a malformed URL.
 */
export function openRecordStore(url: string, options: Pick<OpenStoreOptions, 'token' | 'ociPlainHttp' | 'ociCredentials'> & { writer?: string } = {}): RecordStore {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (url.trim() === '') throw new StoreError('store-bad-url', 'empty store URL');
    return new FsRecordStore(url);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('store-bad-url', `malformed store URL: ${redact(url)}`);
  }
  if (scheme === 'file') return new FsRecordStore(localPathOf(parsed, url));
  if (scheme === 'http' || scheme === 'https') return new HttpRecordStore(url, { token: options.token });
  if (scheme === 'oci') {
    const { origin, repository } = ociTarget(parsed, url, options.ociPlainHttp);
    return new OciRecordStore(origin, repository, { token: options.token, credentials: options.ociCredentials, ...(options.writer ? { writer: options.writer } : {}) });
  }
  throw new StoreError('store-bad-url', `unknown store URL scheme '${scheme}://' (use a directory, file://, http(s):// or oci://)`);
}

/** Registry origin and repository of an `oci://host[:port]/repository` URL. */
function ociTarget(parsed: URL, url: string, plainHttp: boolean | undefined): { origin: string; repository: string } {
  const repository = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (!parsed.host || !repository) throw new StoreError('store-bad-url', `expected oci://host[:port]/repository, got ${redact(url)}`);
  const plain = plainHttp ?? isLoopback(parsed.hostname);
  return { origin: `${plain ? 'http' : 'https'}://${parsed.host}`, repository };
}

/** The local path of a `file:` URL: no host but `localhost`, no encoded slashes. */
function localPathOf(parsed: URL, url: string): string {
  if (parsed.hostname !== '' && parsed.hostname !== 'localhost') {
    throw new StoreError('store-bad-url', `file URLs must name a local path (host '${parsed.hostname}')`);
  }
  try {
    return fileURLToPath(parsed);
  } catch (err) {
    throw new StoreError('store-bad-url', `not a usable file URL: ${redact(url)} (${(err as Error).message})`, { cause: err });
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]' || host === '::1';
}

/** A URL for messages, without user information. */
function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}
