/**
 * Reading keys and trust from files and the environment. Private key text never appears in messages.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { InputError, UsageError } from '../core/errors.js';
import {
  parsePublicKey,
  parseRootFile,
  parseSigningKey,
  trustOfKey,
  verifyRootChain,
  type PublicKeyEntry,
  type RootFile,
  type SigningKey,
  type TrustPolicy,
} from '../core/bundle/index.js';

/** The environment variable that may hold a PKCS#8 PEM signing key. */
export const SIGNING_KEY_ENV = 'PALISADE_SIGNING_KEY';

const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Signing keys from `--key` files, plus the key in {@link SIGNING_KEY_ENV} when it is set.
 * @throws InputError `io-read` for an unreadable file; BundleError `bundle-key-invalid` for a file or variable
 *   that is not a P-256 private key.
 */
export async function readSigningKeys(paths: readonly string[], env: NodeJS.ProcessEnv): Promise<SigningKey[]> {
  const keys: SigningKey[] = [];
  for (const given of paths) {
    const p = withSuffix(given, '.key');
    keys.push(parseSigningKey(await readSmallFile(p), p));
  }
  const fromEnv = env[SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    // CI secret stores sometimes flatten the PEM's newlines to a literal "\n".
    const pem = fromEnv.includes('\n') ? fromEnv : fromEnv.replace(/\\n/g, '\n');
    keys.push(parseSigningKey(pem, `$${SIGNING_KEY_ENV}`));
  }
  // The same key from a file and from the environment signs once.
  return [...new Map(keys.map((k) => [k.keyId, k] as const)).values()];
}

/**
 * A public key from a `.pub` file (keygen's PREFIX works too).
 * @throws InputError `io-read`; BundleError `bundle-key-invalid`.
 */
export async function readPublicKeyFile(given: string): Promise<PublicKeyEntry> {
  const p = withSuffix(given, '.pub');
  return parsePublicKey(await readSmallFile(p), p);
}

/**
 * The trust `--trust` arguments give: one `.pub` PEM (threshold 1), or a chain of root JSON files, the first
 * being the root already trusted and each next one a rotation of the one before.
 * @param now the time roots must not have expired at.
 * @throws InputError `io-read`; BundleError `bundle-key-invalid`, `trust-root-invalid`, `trust-root-expired`.
 */
export async function readTrust(paths: readonly string[], now: Date): Promise<{ trust: TrustPolicy; root: RootFile | null }> {
  if (paths.length === 0) throw new UsageError('no --trust given');
  const texts = await Promise.all(paths.map(async (given) => {
    const p = withSuffix(given, '.pub');
    return { path: p, text: await readSmallFile(p, 1024 * 1024) };
  }));
  const first = texts[0]!;
  if (texts.length === 1 && !first.text.trimStart().startsWith('{')) {
    return { trust: trustOfKey(parsePublicKey(first.text, first.path)), root: null };
  }
  const chain = texts.map((t) => parseRootFile(new TextEncoder().encode(t.text), t.path));
  return { trust: verifyRootChain(chain, now), root: chain[chain.length - 1]! };
}

/** `PREFIX` as written, or `PREFIX<suffix>` when only that exists (keygen's naming). */
function withSuffix(p: string, suffix: string): string {
  return !existsSync(p) && existsSync(`${p}${suffix}`) ? `${p}${suffix}` : p;
}

async function readSmallFile(path: string, max = MAX_KEY_FILE_BYTES): Promise<string> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new InputError('io-read', `${path}: not a file`, { file: path, line: 0, col: 0 });
    if (s.size > max) throw new InputError('io-read', `${path}: larger than ${max} bytes`, { file: path, line: 0, col: 0 });
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('io-read', `${path}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { file: path, line: 0, col: 0 }, { cause: err });
  }
}
