/**
 * The reusable "policy directory (+ recorded flows) → bundle file" stage behind `palisade compile` and
 * `palisade publish`: reads and validates the policies (refusing any error), reads the recorded flows and the BPF
 * object, fills in the manifest from the source repository, and composes (and signs) the bundle.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { DEFAULT_MAX_BUNDLE_BYTES, PALISADE_ABI_VERSION, type ManifestInput, type SigningKey } from '../core/bundle/index.js';
import type { Flow } from '../core/flow/types.js';
import { loadPolicyModel } from '../core/policy/index.js';
import { FlowReader, readInventory } from '../flows/index.js';
import { readPolicyFiles } from '../sources/index.js';
import { composeBundle, type BundleEngines, type ComposedBundle } from './compose.js';
import { REFERENCE_ENGINES } from './engines.js';
import { PolicyErrorsError } from './errors.js';
import { readSourceInfo } from './source-info.js';
import { validityProblem, type CreatedAtOrigin } from './validity.js';

/** Default validity of a bundle: 30 days. */
export const DEFAULT_BUNDLE_LIFETIME_MS = 30 * 86_400_000;
/** Default cap on recorded flows turned into probe vectors. */
export const DEFAULT_MAX_RECORDED_PROBES = 50_000;
/** Largest BPF object accepted. */
const MAX_BPF_OBJECT_BYTES = 16 * 1024 * 1024;

/** Inputs of {@link buildBundleFromDir}; only `policiesDir` and `keys` are required. */
export interface BuildFromDirOptions {
  readonly policiesDir: string;
  /** Hubble recordings (`hubble observe -o json`), judged in order into probe vectors and used for the tables. */
  readonly flowFiles?: readonly string[];
  /** kubectl inventories that fill in what the recordings lack. */
  readonly inventoryFiles?: readonly string[];
  /** Default: bpf/build/palisade.bpf.o of this installation (built by `npm run build`). */
  readonly bpfObjectPath?: string;
  readonly keys: readonly SigningKey[];
  /** Default: the creation time in Unix seconds (monotonic for successive commits). */
  readonly serial?: number;
  readonly rollbackOf?: number | null;
  readonly parentDigest?: string | null;
  /**
   * Default: $SOURCE_DATE_EPOCH, else the commit time of the policy repository's HEAD, else now: the same commit
   * builds the same bytes.
   */
  readonly createdAt?: Date;
  /** Validity counted from `createdAt`, in milliseconds (default 30 days); ignored when `expiresAt` is given. */
  readonly lifetimeMs?: number;
  /** An absolute expiry (e.g. `--expires-at`, or now + `--expires-in`); must be after `createdAt`. */
  readonly expiresAt?: Date;
  /**
   * Refuse, before composing anything, a bundle valid for less than this many milliseconds after `now()` (what
   * publishing asks). Absent: no check (the result's `validity` lets the caller warn instead).
   */
  readonly minValidityMs?: number;
  /** Default: the policy directory's git origin URL and HEAD commit (`unknown` outside git). */
  readonly source?: { readonly repository: string; readonly commit: string };
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => Date;
  readonly maxRecordedProbes?: number;
  readonly maxEdgeProbes?: number;
  /** Default: the reference evaluator and the table compiler. */
  readonly engines?: BundleEngines;
  /** Refuse to build a bundle larger than this (default DEFAULT_MAX_BUNDLE_BYTES, what agents accept). */
  readonly maxBundleBytes?: number;
}

/** A built bundle plus what the policy load said. */
export interface BuiltBundle extends ComposedBundle {
  readonly policies: number;
  readonly warnings: number;
  /** The validity window that went into the manifest, and where `createdAt` came from. */
  readonly validity: { readonly createdAt: Date; readonly expiresAt: Date; readonly createdFrom: CreatedAtOrigin };
}

/**
 * Builds one bundle file from a policy directory.
 * @throws PolicyErrorsError when the policies have errors (no bundle is built); InputError `io-*` for unreadable
 *   inputs, `bundle-build-too-large` above `maxBundleBytes`; BundleExpiryError when `minValidityMs` is set and the
 *   bundle would not be valid that long; FlowInputError for a malformed recording; BundleError for bad manifest
 *   inputs; MapPressureError when the tables would not fit.
 */
export async function buildBundleFromDir(options: BuildFromDirOptions): Promise<BuiltBundle> {
  const env = options.env ?? {};
  const now = options.now ?? (() => new Date());
  const git = await readSourceInfo(options.policiesDir);
  // Source positions in the model (and so in the bundle) are relative to the repository root, or to the policy
  // directory outside git: the bundle does not depend on where the build ran.
  const read = await readPolicyFiles(options.policiesDir, { displayBase: git.topLevel ?? path.resolve(options.policiesDir) });
  const loaded = loadPolicyModel(read.files);
  const all = [...read.diagnostics, ...loaded.diagnostics];
  const errors = all.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new PolicyErrorsError(errors);
  if (read.files.length === 0) throw new InputError('bundle-build-no-policies', `${options.policiesDir}: no policy files`);

  const flows = await readRecordedFlows(options.flowFiles ?? [], options.inventoryFiles ?? [], options.maxRecordedProbes ?? DEFAULT_MAX_RECORDED_PROBES);
  const bpfObject = await readBpfObject(options.bpfObjectPath ?? defaultBpfObjectPath());

  const validity = validityWindow(options, sourceDateEpoch(env), git.commitTime, now);
  if (options.minValidityMs !== undefined) {
    // Checked before the expensive part: an old commit fails in milliseconds, not after the build.
    const problem = validityProblem(validity, now(), options.minValidityMs);
    if (problem) throw problem;
  }
  const createdAt = validity.createdAt;
  const manifest: ManifestInput = {
    serial: options.serial ?? Math.floor(createdAt.getTime() / 1000),
    rollbackOf: options.rollbackOf ?? null,
    source: options.source ?? { repository: git.repository ?? 'unknown', commit: git.commit ?? 'unknown' },
    createdAt,
    expiresAt: validity.expiresAt,
    parentDigest: options.parentDigest ?? null,
    abiVersion: PALISADE_ABI_VERSION,
  };
  const composed = composeBundle({
    model: loaded.model,
    recordedFlows: flows,
    bpfObject,
    manifest,
    keys: options.keys,
    engines: options.engines ?? REFERENCE_ENGINES,
    ...(options.maxEdgeProbes !== undefined ? { maxEdgeProbes: options.maxEdgeProbes } : {}),
  });
  // Agents refuse bundles above their hard limit: better to fail here than on every node.
  const limit = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  if (composed.bytes.byteLength > limit) {
    throw new InputError('bundle-build-too-large', `the bundle would be ${composed.bytes.byteLength} bytes, above the ${limit} agents accept (record fewer flows, or split the policy set)`);
  }
  return { ...composed, policies: loaded.stats.policies, warnings: all.length - errors.length, validity };
}

/** createdAt from the first input that has one (see validity.ts), expiresAt absolute or createdAt + lifetime. */
function validityWindow(options: BuildFromDirOptions, epoch: Date | null, commitTime: Date | null, now: () => Date):
  BuiltBundle['validity'] {
  const [createdAt, createdFrom]: [Date, CreatedAtOrigin] = options.createdAt ? [options.createdAt, 'created-at option']
    : epoch ? [epoch, 'SOURCE_DATE_EPOCH']
    : commitTime ? [commitTime, 'commit time']
    : [now(), 'build clock'];
  const expiresAt = options.expiresAt ?? new Date(createdAt.getTime() + (options.lifetimeMs ?? DEFAULT_BUNDLE_LIFETIME_MS));
  return { createdAt, expiresAt, createdFrom };
}

async function readRecordedFlows(files: readonly string[], inventories: readonly string[], max: number): Promise<Flow[]> {
  if (files.length === 0) return [];
  const inventory = inventories.length > 0 ? await readInventory(inventories) : undefined;
  const reader = new FlowReader(files, inventory ? { inventory } : {});
  const flows: Flow[] = [];
  for await (const f of reader.flows()) {
    flows.push(f);
    if (flows.length >= max) break; // a deterministic prefix of the recording
  }
  return flows;
}

async function readBpfObject(p: string): Promise<Uint8Array> {
  try {
    const s = await stat(p);
    if (!s.isFile() || s.size > MAX_BPF_OBJECT_BYTES) throw new InputError('io-read', `${p}: not a BPF object file of at most ${MAX_BPF_OBJECT_BYTES} bytes`, { file: p, line: 0, col: 0 });
    const bytes = new Uint8Array(await readFile(p));
    // ELF magic: refuse to ship something that cannot be the datapath object.
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
      throw new InputError('bundle-build-bpf-object', `${p}: not an ELF object`, { file: p, line: 0, col: 0 });
    }
    return bytes;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (run `npm run build` to build the BPF object)' : '';
    throw new InputError('io-read', `${p}: ${code ?? 'cannot read'}${hint}`, { file: p, line: 0, col: 0 }, { cause: err });
  }
}

/** bpf/build/palisade.bpf.o of this installation, whether running from source or from dist/. */
export function defaultBpfObjectPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'bpf', 'build', 'palisade.bpf.o');
    if (existsSync(path.join(dir, 'package.json')) || existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('bpf/build/palisade.bpf.o');
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): Date | null {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return new Date(Number(v) * 1000);
}
