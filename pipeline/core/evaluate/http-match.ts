/**
 * L7 HTTP rule matching as Cilium's proxy does it: `method`, `path` and `host` are RE2 expressions that must match
 * the whole string (the path includes the query string); each `headers` entry is `Name` (present, any value) or
 * `Name value` (present with exactly that value). Header names compare case-insensitively.
 */
import { RE2JS } from 're2js';
import type { HttpRule } from '../model/types.js';
import type { HttpRequest } from '../flow/types.js';

/** An HTTP request split into the parts rules look at. */
export interface HttpRequestParts {
  readonly method: string;
  /** Path plus `?query` when there is one. */
  readonly path: string;
  /** Host as the URL names it (with `:port` when given), else the Host header. */
  readonly host: string;
  /** Header name (lower-case) → values. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

/** A compiled HTTP rule. */
export type HttpMatcher = (request: HttpRequestParts) => boolean;

/** Splits a recorded request's URL into path (with query) and host; tolerates relative URLs. */
export function httpRequestParts(request: HttpRequest): HttpRequestParts {
  const headers = new Map<string, string[]>();
  for (const h of request.headers) {
    const name = h.key.toLowerCase();
    const list = headers.get(name);
    if (list) list.push(h.value);
    else headers.set(name, [h.value]);
  }
  let host = '';
  let path = request.url;
  const scheme = path.indexOf('://');
  if (scheme >= 0) {
    const afterScheme = scheme + 3;
    let end = path.length;
    for (const c of ['/', '?', '#']) {
      const i = path.indexOf(c, afterScheme);
      if (i >= 0 && i < end) end = i;
    }
    host = path.slice(afterScheme, end);
    const at = host.lastIndexOf('@');
    if (at >= 0) host = host.slice(at + 1);
    path = path.slice(end);
  }
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path === '' || path.startsWith('?')) path = `/${path}`;
  if (host === '') host = headers.get('host')?.[0] ?? headers.get(':authority')?.[0] ?? '';
  return { method: request.method, path, host, headers };
}

/**
 * Compiles one HTTP rule. Patterns were checked as RE2 by validation; an expression that still fails to compile
 * makes the rule match nothing (never a crash mid-simulation).
 * @returns a function true when the request satisfies every part of the rule.
 */
export function compileHttpRule(rule: HttpRule): HttpMatcher {
  const tests: HttpMatcher[] = [];
  const full = (pattern: string, pick: (r: HttpRequestParts) => string): void => {
    let re: RE2JS | null = null;
    try {
      re = RE2JS.compile(pattern);
    } catch {
      re = null;
    }
    const compiled = re;
    tests.push(compiled === null ? () => false : (r) => compiled.matches(pick(r)));
  };
  if (rule.method !== undefined && rule.method !== '') full(rule.method, (r) => r.method);
  if (rule.path !== undefined && rule.path !== '') full(rule.path, (r) => r.path);
  if (rule.host !== undefined && rule.host !== '') full(rule.host, (r) => r.host);
  for (const header of rule.headers ?? []) {
    const trimmed = header.trim();
    const space = trimmed.indexOf(' ');
    const name = (space >= 0 ? trimmed.slice(0, space) : trimmed).toLowerCase();
    const value = space >= 0 ? trimmed.slice(space + 1).trim() : undefined;
    tests.push((r) => {
      const values = r.headers.get(name);
      if (!values) return false;
      return value === undefined || values.includes(value);
    });
  }
  return (r) => tests.every((t) => t(r));
}
