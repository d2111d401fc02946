/**
 * `toFQDNs` and DNS L7 name matching: `matchName` is a literal (case-insensitive); `matchPattern` uses `*` for any
 * characters within one DNS label, a leading `**.` for any number of leading labels, and `*` alone for every name.
 * Neither a literal nor a pattern with a wildcard label matches the apex (`*.example.com` does not match
 * `example.com`).
 */
import { normaliseDnsName } from './dns-cache.js';

/** A compiled name test over normalised names (lower-case, no trailing dot). */
export type NameMatcher = (name: string) => boolean;

// Characters a DNS label may hold, as Cilium's pattern compiler allows them.
const LABEL_CHARS = '[-a-z0-9_]';

function escapeLiteral(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a `matchName` or `matchPattern` into a test.
 * @returns a function that is true for names the selector matches.
 */
export function compileNameMatcher(spec: { readonly matchName?: string; readonly matchPattern?: string }): NameMatcher {
  if (spec.matchName !== undefined) {
    const literal = normaliseDnsName(spec.matchName);
    return (name) => name === literal;
  }
  const pattern = normaliseDnsName(spec.matchPattern ?? '');
  if (pattern === '*') return (name) => name.length > 0;
  let source = '';
  let rest = pattern;
  if (rest.startsWith('**.')) {
    // One or more whole labels in front of the rest.
    source = `(?:${LABEL_CHARS}+\\.)+`;
    rest = rest.slice(3);
  }
  source += rest
    .split('*')
    .map(escapeLiteral)
    .join(`${LABEL_CHARS}*`);
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}
