/**
 * `palisade keygen --out PREFIX` writes a new ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and
 * PREFIX.pub (SPKI PEM), and prints the key ID. Both files appear together, complete, or not at all; existing files
 * are never overwritten.
 *
 * `palisade keygen --root OUT.json --pub A.pub… --threshold K --sign A.key… [--previous OLD.json] [--expires 365d]`
 * writes a trust root listing those public keys with a k-of-n threshold, signed by the given keys. With
 * `--previous`, the new root gets the next version and is written only if the rotation verifies (signed by the
 * previous root's threshold and by its own).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../core/errors.js';
import { parseCommandArgs, parseIntegerOption } from '../command-args.js';
import {
  canonicalJson,
  createRootSigned,
  generateSigningKeyPem,
  parseRootFile,
  signRoot,
  verifyRootChain,
} from '../../core/bundle/index.js';
import { readPublicKeyFile, readSigningKeys } from '../../bundle-build/keys-io.js';
import { parseDuration } from '../../bundle-build/duration.js';
import { writeFileAtomic, writeNewFilesTogether } from '../../stores/index.js';
import { printLine } from '../output.js';

const USAGE = 'usage: palisade keygen --out PREFIX\n       palisade keygen --root OUT.json --pub KEY.pub… --threshold K --sign KEY.key… [--previous OLD.json] [--expires 365d]';

/** Runs `palisade keygen`. @returns the exit code. @throws UsageError, BundleError, InputError (reported by main). */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      out: { type: 'string' },
      root: { type: 'string' },
      pub: { type: 'string', multiple: true, default: [] },
      sign: { type: 'string', multiple: true, default: [] },
      threshold: { type: 'string' },
      previous: { type: 'string' },
      expires: { type: 'string', default: '365d' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.out !== undefined && values.root === undefined) return writeKeyPair(values.out);
  if (values.root !== undefined && values.out === undefined) {
    return writeRoot(values.root, values.pub, values.sign, values.threshold, values.previous, values.expires);
  }
  throw new UsageError('give either --out PREFIX or --root OUT.json', USAGE);
}

async function writeKeyPair(prefix: string): Promise<number> {
  const { privatePem, publicPem, keyId } = generateSigningKeyPem();
  const keyPath = `${prefix}.key`;
  const pubPath = `${prefix}.pub`;
  // Both files or neither (a full disk leaves nothing behind); never over an existing key; the private key is
  // 0600 from its creation, so it is never readable by others, not even while being written.
  await writeNewFilesTogether([
    { path: keyPath, bytes: privatePem, mode: 0o600 },
    { path: pubPath, bytes: publicPem, mode: 0o644 },
  ]);
  await printLine(`${keyId}  ${keyPath} ${pubPath}`);
  return 0;
}

async function writeRoot(out: string, pubs: string[], signers: string[], thresholdText: string | undefined, previous: string | undefined, expires: string): Promise<number> {
  if (pubs.length === 0 || signers.length === 0 || thresholdText === undefined) throw new UsageError('--root needs --pub, --sign and --threshold', USAGE);
  const threshold = parseIntegerOption(thresholdText, '--threshold', 1)!;
  const keys = await Promise.all(pubs.map(readPublicKeyFile));
  const now = new Date();
  const prev = previous === undefined ? null : parseRootFile(await readFile(previous), previous);
  const signed = createRootSigned({
    version: prev ? prev.signed.version + 1 : 1,
    expiresAt: new Date(now.getTime() + parseDuration(expires)),
    threshold,
    keys,
  });
  const root = signRoot(signed, await readSigningKeys(signers, {}));
  verifyRootChain(prev ? [prev, root] : [root], now); // refuse to write a root no verifier would accept
  await writeFileAtomic({ path: out, bytes: `${canonicalJson(root)}\n`, mode: 0o644 }, { overwrite: false });
  await printLine(`trust root v${signed.version}: ${threshold} of ${keys.length} keys  ${out}`);
  return 0;
}
