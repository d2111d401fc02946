/**
 * GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under the secret>`,
 * compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<64 hex>` for `body` under `secret`. */
export function signWebhookBody(secret: string | Uint8Array, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Whether `header` is the signature of `body` under `secret`. A missing or malformed header is false; the digest is
 * compared with timingSafeEqual, so the time taken does not tell how much of a forgery was right.
 */
export function verifyWebhookSignature(secret: string | Uint8Array, body: Uint8Array | string, header: string | undefined): boolean {
  if (header === undefined || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
