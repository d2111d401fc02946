/**
 * Which token permission each endpoint Palisade calls needs, so a 403 or 404 can say what to grant instead of a bare
 * status (GitHub answers 404 rather than 403 for a repository the token cannot see).
 */

/** `METHOD /route` → the permission, as a workflow's `permissions:` block or a GitHub App names it. */
const PERMISSIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(POST|PATCH) \/repos\/[^/]+\/[^/]+\/check-runs/, 'checks: write'],
  [/^GET \/repos\/[^/]+\/[^/]+\/commits\/[^/]+\/check-runs/, 'checks: read'],
  [/^(POST|PATCH) \/repos\/[^/]+\/[^/]+\/issues\/(\d+\/)?comments/, 'pull-requests: write'],
  [/^GET \/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments/, 'pull-requests: read'],
  [/^POST \/app\/installations\/\d+\/access_tokens/, 'a GitHub App private key that belongs to the app id'],
  [/^GET \/repos\/[^/]+\/[^/]+\/installation/, 'the GitHub App installed on the repository'],
  [/^GET \/repos\/[^/]+\/[^/]+/, 'metadata: read (contents: read for a private repository)'],
];

/** The permission `METHOD path` needs, or undefined for a route Palisade does not call. */
export function permissionFor(method: string, path: string): string | undefined {
  const key = `${method.toUpperCase()} ${path.split('?')[0]}`;
  return PERMISSIONS.find(([re]) => re.test(key))?.[1];
}
