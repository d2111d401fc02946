/**
 * The few OCI distribution-spec v2 calls the OCI store needs, as plain HTTP: blob HEAD/GET, blob upload (POST then
 * PUT with the digest), manifest GET/PUT by tag, tag list. Bodies are read with byte bounds, requests time out.
 */
import { StoreError } from './errors.js';
import { readBodyBounded } from './bounded-read.js';
import { fetchWithTimeout } from './fetch-with-timeout.js';
import { nextPageUrl } from './link-next.js';
import { answerChallenge, parseChallenge } from './oci-auth.js';
import type { RegistryCredentials } from './oci-auth.js';

/** Media type of an OCI image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
// Manifests and tag lists are small; a registry that sends more is not one we talk to.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** @throws StoreError `store-bad-url` unless `repository` is a distribution-spec repository name. */
export function checkRepositoryName(repository: string): void {
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new StoreError('store-bad-url', `not an OCI repository name: ${repository}`);
  }
}

/** Where a repository lives. */
export interface RegistryTarget {
  /** `http://host:port` or `https://host[:port]`. */
  readonly origin: string;
  /** Repository name, e.g. `palisade/bundles`. */
  readonly repository: string;
  /** A pre-issued bearer token sent with every request. */
  readonly token?: string | undefined;
  /** Credentials for the registry's token service (or Basic auth), used when the registry challenges. */
  readonly credentials?: RegistryCredentials | undefined;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** A manifest as fetched: its text, digest and ETag. */
export interface FetchedManifest {
  readonly text: string;
  /** The manifest's bytes as served (their sha256 is its digest). */
  readonly bytes: Uint8Array;
  readonly digest: string | undefined;
}

/** Thin registry client for one repository. */
export class RegistryClient {
  readonly #t: RegistryTarget;
  readonly #fetch: typeof fetch;
  readonly location: string;
  /** The Authorization value won from the last challenge (tokens are scoped to this repository). */
  #authorization: string | undefined;

  constructor(target: RegistryTarget) {
    this.#t = target;
    this.#fetch = target.fetch ?? fetch;
    this.location = `oci://${new URL(target.origin).host}/${target.repository}`;
    this.#authorization = target.token === undefined ? undefined : `Bearer ${target.token}`;
  }

  /** True when the registry has the blob. */
  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.#call('HEAD', `/blobs/${digest}`, {}, signal);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.#unexpected(res, `HEAD blob ${digest}`);
  }

  /** Uploads a blob unless the registry has it (monolithic upload: POST for a session, PUT with the digest). */
  async pushBlob(digest: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (await this.hasBlob(digest, signal)) return;
    const start = await this.#call('POST', '/blobs/uploads/', {}, signal);
    const where = start.headers.get('location');
    await start.body?.cancel();
    if (start.status !== 202 || !where) throw this.#unexpected(start, 'start blob upload');
    const url = new URL(where, this.#t.origin);
    url.searchParams.set('digest', digest);
    const put = await this.#send('PUT', url.href, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
      body: bytes,
    }, signal);
    await put.body?.cancel();
    if (put.status !== 201) throw this.#unexpected(put, `finish blob upload ${digest}`);
  }

  /**
   * The blob's bytes, at most `maxBytes` and exactly `expectedSize` when given.
   * @throws StoreError `store-not-found`, `store-too-large`, `store-truncated`.
   */
  async getBlob(digest: string, maxBytes: number, expectedSize: number | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await this.#call('GET', `/blobs/${digest}`, {}, signal);
    if (res.status === 404) {
      await res.body?.cancel();
      throw new StoreError('store-not-found', `${this.location}: no blob ${digest}`);
    }
    if (res.status !== 200) throw this.#unexpected(res, `GET blob ${digest}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    const bound = Math.min(maxBytes, expectedSize ?? maxBytes);
    if (declared > bound) {
      await res.body?.cancel();
      throw new StoreError('store-too-large', `${this.location}: blob ${digest} is ${declared} bytes, more than the ${bound} allowed`);
    }
    return readBodyBounded(res.body, bound, `${this.location}: blob ${digest}`, expectedSize);
  }

  /** The manifest at a tag or digest, or `undefined` when there is none. */
  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    const res = await this.#call('GET', `/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST_MEDIA_TYPE } }, signal);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) throw this.#unexpected(res, `GET manifest ${reference}`);
    const bytes = await readBodyBounded(res.body, MAX_MANIFEST_BYTES, `${this.location}: manifest ${reference}`);
    return { text: new TextDecoder().decode(bytes), bytes, digest: res.headers.get('docker-content-digest') ?? undefined };
  }

  /**
   * Stores a manifest under a tag. Unconditional: the distribution spec has no compare-and-swap for tags.
   * @returns the digest the registry answered with (`Docker-Content-Digest`), when it sent one.
   */
  async putManifest(tag: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string | undefined> {
    const res = await this.#call('PUT', `/manifests/${tag}`, { headers: { 'Content-Type': OCI_MANIFEST_MEDIA_TYPE }, body: bytes }, signal);
    await res.body?.cancel();
    if (res.status !== 201) throw this.#unexpected(res, `PUT manifest ${tag}`);
    return res.headers.get('docker-content-digest') ?? undefined;
  }

  /** Every tag of the repository (following `Link` pagination, at most 100 pages). */
  async listTags(signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `${this.#repoUrl()}/tags/list?n=1000`;
    for (let page = 0; next && page < 100; page++) {
      const res = await this.#send('GET', next, {}, signal);
      if (res.status === 404) {
        await res.body?.cancel();
        return tags; // no repository yet
      }
      if (res.status !== 200) throw this.#unexpected(res, 'list tags');
      const link = res.headers.get('link');
      const text = new TextDecoder().decode(await readBodyBounded(res.body, MAX_MANIFEST_BYTES, `${this.location}: tags`));
      let body: { tags?: unknown } | null;
      try {
        body = JSON.parse(text) as { tags?: unknown } | null;
      } catch {
        throw new StoreError('store-protocol', `${this.location}: the tag list is not JSON`);
      }
      if (Array.isArray(body?.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      // Only pages of this repository: the Authorization header goes with every request.
      next = nextPageUrl(link, next, `/v2/${this.#t.repository}/tags`, this.location);
    }
    return tags;
  }

  #repoUrl(): string {
    return `${this.#t.origin}/v2/${this.#t.repository}`;
  }

  #call(method: string, path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    return this.#send(method, `${this.#repoUrl()}${path}`, init, signal);
  }

  async #send(method: string, url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const send = { fetch: this.#fetch, timeoutMs: this.#t.timeoutMs ?? 30_000, location: this.location, signal };
    const attempt = (): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (this.#authorization !== undefined) headers.set('Authorization', this.#authorization);
      return fetchWithTimeout(url, { ...init, method, headers }, send);
    };
    let res = await attempt();
    const challenge = res.status === 401 ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge) {
      // Answer the challenge once and retry (every body this client sends is a replayable byte array).
      await res.body?.cancel();
      this.#authorization = await answerChallenge(challenge, this.#t.credentials, `repository:${this.#t.repository}:pull,push`, send);
      res = await attempt();
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new StoreError('store-unauthorized', `${this.location}: ${method} refused with ${res.status}`);
    }
    return res;
  }

  #unexpected(res: Response, what: string): StoreError {
    void res.body?.cancel();
    return new StoreError('store-protocol', `${this.location}: ${what} answered ${res.status}`);
  }
}
