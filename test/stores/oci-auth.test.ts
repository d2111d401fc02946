/**
 * The OCI store against the real docker-registry with token authentication: the registry challenges, the store
 * fetches a token from the realm (a local token service issuing ES256 JWTs with an x5c certificate, as the
 * distribution registry verifies them) with Basic credentials, and retries. Wrong or missing credentials are
 * `store-unauthorized`, and the password never shows up in an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { OciBundleStore, StoreError, openStore } from '../../pipeline/stores/index.js';
import { parseChallenge } from '../../pipeline/stores/oci-auth.js';
import { makeBundle, startRegistry, tempDir } from './helpers.js';

const USER = 'palisade';
const PASSWORD = 'registry-secret-9b2e';
const SERVICE = 'palisade-registry';
const ISSUER = 'palisade-test-issuer';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

describe('OCI store with registry token authentication', () => {
  let dir: { path: string; remove(): Promise<void> };
  let tokenServer: Server;
  let registry: { host: string; stop(): Promise<void> };
  let tokenRequests = 0;

  beforeAll(async () => {
    dir = await tempDir('oci-auth');
    const keyPath = join(dir.path, 'token.key');
    const certPath = join(dir.path, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=palisade-test-token', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
    const key = createPrivateKey(readFileSync(keyPath));
    const certDer = new X509Certificate(readFileSync(certPath)).raw;

    tokenServer = createServer((req, res) => {
      tokenRequests++;
      const url = new URL(req.url ?? '/', 'http://token');
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '') ?? [];
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
      const claims = b64url(JSON.stringify({
        iss: ISSUER, sub: USER, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now,
        jti: randomBytes(8).toString('hex'),
        access: name ? [{ type: 'repository', name, actions: actions!.split(',') }] : [],
      }));
      const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}` }));
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    registry = await startRegistry([
      'auth:',
      '  token:',
      `    realm: ${realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${certPath}`,
    ]);
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
    await new Promise((r) => tokenServer?.close(r));
    await dir?.remove();
  });

  it('the registry really demands a token', async () => {
    const res = await fetch(`http://${registry.host}/v2/palisade/auth/tags/list`);
    expect(res.status).toBe(401);
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    expect(challenge?.scheme).toBe('bearer');
    expect(challenge?.params.service).toBe(SERVICE);
  });

  it('publishes and pulls with credentials, through the token flow', async () => {
    const store = openStore(`oci://${registry.host}/palisade/auth`, { ociCredentials: { username: USER, password: PASSWORD } });
    const before = tokenRequests;
    const bytes = makeBundle(1);
    const d = await store.publish({ serial: 1, bytes });
    expect(tokenRequests).toBeGreaterThan(before);
    expect(await store.latest()).toEqual(d);
    expect(Buffer.from(await store.get(d.digest, { expectedSize: d.size })).equals(Buffer.from(bytes))).toBe(true);
  });

  it('missing or wrong credentials are store-unauthorized, without the password in the message', async () => {
    for (const credentials of [undefined, { username: USER, password: `${PASSWORD}-wrong` }]) {
      const store = new OciBundleStore(`http://${registry.host}`, 'palisade/auth', { credentials });
      const err = await store.latest().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('store-unauthorized');
      expect((err as StoreError).message).not.toContain(PASSWORD);
    }
  });
});
