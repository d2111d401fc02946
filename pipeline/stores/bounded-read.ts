/**
 * Reading untrusted bodies with a byte bound: an endless or oversized body is cut off at the bound, never buffered.
 */
import type { IncomingMessage } from 'node:http';
import { readBounded } from '../core/bundle/bounded-reader.js';
import { BundleError } from '../core/bundle/errors.js';
import { StoreError } from './errors.js';

/**
 * Reads a fetch body (or any byte stream) through the bundle format's bounded reader: at most `max` bytes, and exactly `expectedSize`
 * when given.
 * @throws StoreError `store-too-large` as soon as the body passes the bound (the stream is cancelled there),
 *   `store-truncated` when it ends short of `expectedSize`, `store-unreachable` when the connection breaks off,
 *   `store-timeout` when the request's deadline passes mid-body (see fetchWithTimeout).
 */
export async function readBodyBounded(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null, max: number, where: string,
  expectedSize?: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  try {
    return await readBounded(body as unknown as AsyncIterable<Uint8Array>,
      expectedSize === undefined ? { maxBytes: max } : { maxBytes: max, expectedSize });
  } catch (err) {
    if (err instanceof BundleError && (err.code === 'bundle-oversize' || err.code === 'bundle-truncated')) {
      const code = err.code === 'bundle-oversize' ? 'store-too-large' : 'store-truncated';
      throw new StoreError(code, `${where}: ${err.message}`, { cause: err });
    }
    // fetch reports a connection that breaks off mid-body as a TypeError ("terminated"); say so.
    if (err instanceof TypeError) {
      const why = (err.cause as Error | undefined)?.message ?? err.message;
      throw new StoreError('store-unreachable', `${where}: the answer broke off after it started (${why})`, { cause: err });
    }
    throw err;
  }
}

/**
 * Reads an HTTP request body, at most `max` bytes. Resolves `undefined` when the body passed the bound (the caller
 * answers 413); the rest of the body is not read.
 * @throws StoreError `store-truncated` when the connection closes before the body ends.
 */
export function readRequestBounded(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      total += chunk.byteLength;
      if (total > max) {
        over = true;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!over) resolve(concat(chunks, total));
    });
    req.on('error', reject);
    // An uploader that goes away mid-body: settle (and drop the chunks) instead of waiting forever.
    req.on('close', () => {
      if (!ended && !over) reject(new StoreError('store-truncated', `the upload broke off after ${total} bytes`));
    });
  });
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
