/**
 * Defect: untrusted text reached terminals and logs raw. A manifest field name, a policy file name or field, and a
 * hostile store's error message are quoted in messages; their terminal escapes, newlines (a forged `ok:` line in
 * an agent's log) and bidi controls must come out as visible escapes. Run as a user runs palisade: processes on
 * dist/, against real files and a real HTTP server on loopback.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleBundle, BUNDLE_ERROR_EXIT, generateSigningKeyPem, packBundle } from '../../pipeline/core/bundle/index.js';
import { components, manifestInput } from '../bundle/fixtures.js';
import { palisade, palisadeAsync, REPO_ROOT, requireDist } from './palisade-process.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-untrusted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(requireDist);

const FORGED = '\x1b[2J\nok: serial 99';
/** Any raw character a message must never carry: C0 but the newline ending each line, DEL, C1, separators, bidi. */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('verify quotes an unsigned bundle\'s manifest field name', () => {
  it('prints one escaped line, no raw ESC and no forged ok line, and exits with the rejection code', () => {
    const base = assembleBundle(manifestInput(5, { expiresAt: new Date('2036-01-01T00:00:00Z') }), components(), []);
    const hostile = { ...base.manifest, [FORGED]: 1 } as typeof base.manifest;
    const file = join(dir, 'hostile.bundle');
    writeFileSync(file, packBundle(hostile, [], components()).bytes);
    writeFileSync(join(dir, 'trust.pub'), generateSigningKeyPem().publicPem);

    const r = palisade(['verify', file, '--trust', join(dir, 'trust.pub')]);
    expect(r.status).toBe(BUNDLE_ERROR_EXIT['bundle-malformed']);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(RAW_UNSAFE);
    expect(r.stderr).not.toMatch(/^ok: /m);
    expect(lines(r.stderr)).toEqual([`palisade verify: ${file}: manifest: unknown member '\\x1b[2J\\x0aok: serial 99' [bundle-malformed]`]);
  });
});

describe('validate quotes policy file names and field names', () => {
  const policyDir = join(dir, 'policies');
  const evilName = `evil\x1b[31m\nok: serial 1\u202e.yaml`;
  beforeAll(() => {
    mkdirSync(policyDir);
    writeFileSync(
      join(policyDir, evilName),
      'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: web\nspec:\n  endpointSelector: {}\n  "\\e[2J\\nok: serial 99": 1\n',
    );
  });

  it('text: every diagnostic is one line with the name and the field escaped', () => {
    const r = palisade(['validate', policyDir]);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(RAW_UNSAFE);
    expect(r.stdout).not.toMatch(/^ok: /m);
    const out = lines(r.stdout);
    const escapedName = 'evil\\x1b[31m\\x0aok: serial 1\\u202e.yaml';
    expect(out.length).toBeGreaterThanOrEqual(2);
    for (const l of out.slice(0, -1)) expect(l.startsWith(`${join(policyDir, escapedName)}:`)).toBe(true);
    expect(r.stdout).toContain('\\x1b[2J\\x0aok: serial 99');
    expect(out.at(-1)).toMatch(/^1 file, 0 policies valid/);
  });

  it('github: the workflow commands carry the escapes, not the characters', () => {
    const r = palisade(['validate', policyDir, '--format', 'github']);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(RAW_UNSAFE);
    for (const l of lines(r.stdout).slice(0, -1)) expect(l).toMatch(/^::(error|warning) file=.*evil\\x1b\[31m\\x0aok%3A serial 1\\u202e\.yaml/);
  });
});

describe('publish quotes a hostile HTTP store\'s error', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // An empty store that refuses every upload with a reason full of escapes and a forged success line.
    server = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'GET' && req.url?.startsWith('/v1/bundles/latest')) {
        res.writeHead(404).end(JSON.stringify({ error: 'empty' }));
        return;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(403).end(JSON.stringify({
          error: '\x1b[32mforbidden',
          message: `\x1b]0;owned\x07\r\nok: published serial 99 \u202e\u2066txt.exe\x9b2J`,
        }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('prints the refusal as one escaped line, no raw escape, no forged line', async () => {
    const r = await palisadeAsync(
      ['publish', '--policies', join(REPO_ROOT, 'policy-repo-template/policies'), '--store', url],
      { env: { PALISADE_SIGNING_KEY: generateSigningKeyPem().privatePem, PALISADE_STORE_TOKEN: 't0ken' } },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(RAW_UNSAFE);
    expect(r.stderr).not.toMatch(/^ok: /m);
    expect(lines(r.stderr)).toEqual([
      `palisade: ${url}: upload refused (403 \\x1b[32mforbidden): \\x1b]0;owned\\x07\\x0d\\x0aok: published serial 99 \\u202e\\u2066txt.exe\\x9b2J [store-unauthorized]`,
    ]);
  });
});
