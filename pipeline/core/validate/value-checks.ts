/**
 * Checks on single string values shared by the schemas and the semantic checks: Kubernetes names and labels,
 * IANA service (port) names, DNS names, CIDRs and RE2 regular expressions. Each returns a message or undefined.
 */
import { RE2JS } from 're2js';
import { parseSelectorKey } from '../model/labels.js';
import { parsePrefix } from '../model/cidr.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes label value: at most 63 characters, alphanumerics with `-_.` inside. */
export function checkLabelValue(v: string): string | undefined {
  if (v.length > 63) return `label value '${v}' is longer than 63 characters`;
  if (!LABEL_VALUE.test(v)) return `'${v}' is not a valid label value (alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)`;
  return undefined;
}

/**
 * A selector key: an optional Cilium source (`k8s:`, `reserved:`, `any:`...) and a Kubernetes qualified name
 * (`[prefix/]name`, name ≤ 63 characters, prefix a DNS subdomain ≤ 253).
 */
export function checkLabelKey(k: string): string | undefined {
  const { key } = parseSelectorKey(k);
  if (key === '') return `label key '${k}' is empty`;
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key '${k}' has an invalid prefix '${prefix}' (must be a DNS subdomain)`;
  }
  if (name.length > 63) return `label key '${k}': name part is longer than 63 characters`;
  if (!LABEL_NAME.test(name)) return `'${k}' is not a valid label key (alphanumerics, '-', '_' or '.', optionally prefixed with a DNS subdomain and '/')`;
  return undefined;
}

/** A Kubernetes object name (metadata.name): a DNS-1123 subdomain of at most 253 characters. */
export function checkObjectName(v: string): string | undefined {
  if (v.length === 0) return 'name is empty';
  if (v.length > 253 || !DNS_1123_SUBDOMAIN.test(v)) return `'${v}' is not a valid name (lower-case alphanumerics, '-' and '.', at most 253 characters)`;
  return undefined;
}

/** A namespace name: a DNS-1123 label of at most 63 characters. */
export function checkNamespaceName(v: string): string | undefined {
  if (v.length > 63 || !DNS_1123_LABEL.test(v)) return `'${v}' is not a valid namespace name (lower-case alphanumerics and '-', at most 63 characters)`;
  return undefined;
}

/** An IANA service name (a named port): 1–15 characters, letters/digits/'-', at least one letter, no '--' or edge '-'. */
export function isServiceName(v: string): boolean {
  return v.length >= 1 && v.length <= 15 && /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(v) && /[A-Za-z]/.test(v) && !v.includes('--');
}

/** A Cilium `port` string: a decimal port 0–65535 or a named port. */
export function checkPortString(v: string): string | undefined {
  if (/^[0-9]+$/.test(v)) {
    if (v.length > 5 || Number(v) > 65535) return `port ${v} is out of range 0-65535`;
    return undefined;
  }
  if (!isServiceName(v)) return `'${v}' is neither a port number (0-65535) nor a valid port name (1-15 letters, digits or '-', with a letter)`;
  return undefined;
}

/** A prefix in `address/bits` form (IPv4 or IPv6). */
export function checkCidr(v: string): string | undefined {
  return parsePrefix(v) ? undefined : `'${v}' is not a CIDR prefix (address/bits, e.g. 10.0.0.0/8 or fd00::/8)`;
}

const FQDN_NAME = /^([-a-zA-Z0-9_]+[.]?)+$/;
const FQDN_PATTERN = /^([-a-zA-Z0-9_*]+[.]?)+$/;

/** A DNS name for `matchName` (letters, digits, '-', '_', dots; at most 255). */
export function checkDnsName(v: string): string | undefined {
  if (v.length > 255) return 'DNS name is longer than 255 characters';
  return FQDN_NAME.test(v) ? undefined : `'${v}' is not a valid DNS name`;
}

/** A DNS pattern for `matchPattern` (as a name, with `*` wildcards). */
export function checkDnsPattern(v: string): string | undefined {
  if (v.length > 255) return 'DNS pattern is longer than 255 characters';
  return FQDN_PATTERN.test(v) ? undefined : `'${v}' is not a valid DNS pattern (letters, digits, '-', '_', '*' and dots)`;
}

// Policy sets repeat the same few HTTP patterns thousands of times; compiling each once keeps validation fast.
const RE2_CACHE_LIMIT = 10_000;
const re2Cache = new Map<string, string | undefined>();

/** Compiles an RE2 regular expression; returns the syntax error (Perl-only features like look-ahead fail here). */
export function checkRe2(v: string): string | undefined {
  if (re2Cache.has(v)) return re2Cache.get(v);
  let result: string | undefined;
  try {
    RE2JS.compile(v);
  } catch (err) {
    result = `'${v}' is not a valid RE2 regular expression: ${(err as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
  if (re2Cache.size >= RE2_CACHE_LIMIT) re2Cache.clear();
  re2Cache.set(v, result);
  return result;
}

/** Printable text without control characters (the CRD's `^\PC*$` on log values). */
export function checkPrintable(v: string): string | undefined {
  return /^\P{C}*$/u.test(v) ? undefined : 'contains control or unassigned characters';
}
