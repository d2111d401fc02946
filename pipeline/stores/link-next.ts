/**
 * Pagination by `Link: <url>; rel="next"` (RFC 8288, as GitHub and the OCI distribution spec use it), read from
 * untrusted servers: the next page must stay on the same origin and under the same path, so a hostile answer
 * cannot send the client (and its Authorization header) elsewhere.
 */
import { StoreError } from './errors.js';

// Longest Link header considered; a real one holds a few short URLs.
const MAX_LINK_CHARS = 8192;

/**
 * The absolute URL of the next page named by a `Link` header, or `undefined` when there is none.
 * @param current the URL of the page just read (relative links resolve against it).
 * @param pathPrefix the path every page must stay under, e.g. `/v1/bundles`.
 * @throws StoreError `store-protocol` when the next link leaves `current`'s origin or `pathPrefix`.
 */
export function nextPageUrl(link: string | null, current: string, pathPrefix: string, location: string): string | undefined {
  if (!link) return undefined;
  if (link.length > MAX_LINK_CHARS) throw new StoreError('store-protocol', `${location}: Link header longer than ${MAX_LINK_CHARS} characters`);
  for (const part of link.split(',')) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m || !isRelNext(m[2]!)) continue;
    let next: URL;
    try {
      next = new URL(m[1]!, current);
    } catch {
      throw new StoreError('store-protocol', `${location}: malformed next-page link`);
    }
    const base = new URL(current);
    if (next.origin !== base.origin || !(next.pathname === pathPrefix || next.pathname.startsWith(`${pathPrefix}/`)) || next.username || next.password) {
      throw new StoreError('store-protocol', `${location}: the next-page link leaves this store (${next.origin}${next.pathname.slice(0, 80)})`);
    }
    return next.href;
  }
  return undefined;
}

/** True when link parameters (`; rel="next"; …`) carry the relation type `next`. */
function isRelNext(params: string): boolean {
  for (const p of params.split(';')) {
    const m = /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(p);
    if (m && m[1]!.toLowerCase().split(/\s+/).includes('next')) return true;
  }
  return false;
}
