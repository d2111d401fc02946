/**
 * Bearer-token checks for store uploads. Tokens are compared in constant time and never appear in messages.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StoreError } from './errors.js';

/** True when the Authorization header carries exactly `Bearer <token>`. Constant time in the token's content. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? '');
  // Hashing both sides first gives equal-length inputs, so timingSafeEqual leaks neither content nor length.
  const got = createHash('sha256').update(m?.[1] ?? '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(got, want) && m !== null;
}

/**
 * The store token from `--token-file FILE` or, failing that, the environment variable PALISADE_STORE_TOKEN.
 * Surrounding whitespace is dropped. Returns `undefined` when neither is set.
 * @throws StoreError `store-bad-input` for an empty or unreadable token file (the message never includes the token).
 */
export async function loadStoreToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(tokenFile, 'utf8');
    } catch (err) {
      throw new StoreError('store-bad-input', `cannot read token file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const token = text.trim();
    if (!token || /\s/.test(token)) throw new StoreError('store-bad-input', `token file ${tokenFile} must hold one token without spaces`);
    return token;
  }
  const fromEnv = env.PALISADE_STORE_TOKEN?.trim();
  return fromEnv ? fromEnv : undefined;
}
