/**
 * The gate's memory: the trust in force and the lowest serial still acceptable, changed only when a bundle passes
 * (or a root rotation verifies). In memory and pure; an agent persists `state` wherever it keeps its own state.
 */
import type { ByteSource, BoundedReadOptions } from './bounded-reader.js';
import { BundleError } from './errors.js';
import type { RootFile, TrustPolicy } from './trust-root.js';
import { verifyRootChain } from './trust-root.js';
import { verifyBundleStream } from './verify.js';
import type { VerifiedBundle } from './verify.js';

/** What the gate remembers. */
export interface BundleGateState {
  readonly trust: TrustPolicy;
  /** The lowest serial a normal bundle may carry, inclusive: the serial of the bundle admitted last (or past it). */
  readonly minSerial: number;
  /** The lowest serial a rollback bundle may revert, inclusive (see VerifyOptions.minRollbackOf). */
  readonly minRollbackOf: number;
  /** The last admitted bundle, if any. */
  readonly current: { readonly serial: number; readonly manifestDigest: string } | null;
  /** The trusted root file the trust came from, when it came from one (rotations start from it). */
  readonly root: RootFile | null;
}

/** Admits bundles one after another; a rejected bundle leaves the state exactly as it was. */
export class BundleGate {
  private st: BundleGateState;
  private readonly clock: () => Date;
  private readonly abiVersions: readonly number[] | undefined;
  /** Settles when the previous admit has finished. */
  private turn: Promise<void> = Promise.resolve();

  /**
   * @param initial the trust, and the minimums an agent saved from {@link state} (defaults: `minSerial` 0,
   *   `minRollbackOf` = `minSerial`); a gate restarted from them admits the bundle it admitted last again.
   * @param options `clock`: the current time (injected so tests control expiry).
   */
  constructor(
    initial: { trust: TrustPolicy; minSerial?: number; minRollbackOf?: number; root?: RootFile },
    options: { clock: () => Date; abiVersions?: readonly number[] },
  ) {
    const minSerial = initial.minSerial ?? 0;
    this.st = { trust: initial.trust, minSerial, minRollbackOf: initial.minRollbackOf ?? minSerial, current: null, root: initial.root ?? null };
    this.clock = options.clock;
    this.abiVersions = options.abiVersions;
  }

  /** A snapshot of the state. */
  get state(): BundleGateState {
    return this.st;
  }

  /**
   * Verifies a bundle and, only if it passes, records it. Calls are served one at a time in call order, so a bundle
   * is always checked against the state every earlier call left.
   * @throws BundleError (see verifyBundleStream) with the state unchanged.
   */
  admit(source: ByteSource, limits: BoundedReadOptions = {}): Promise<VerifiedBundle> {
    const run = this.turn.then(() => this.admitNow(source, limits));
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async admitNow(source: ByteSource, limits: BoundedReadOptions): Promise<VerifiedBundle> {
    const before = this.st;
    const v = await verifyBundleStream(source, {
      ...limits,
      trust: before.trust,
      now: this.clock(),
      minSerial: before.minSerial,
      minRollbackOf: before.minRollbackOf,
      ...(this.abiVersions ? { abiVersions: this.abiVersions } : {}),
    });
    // Admits run one at a time; a root rotation that happened meanwhile is kept.
    this.st = { ...this.st, minSerial: v.nextMinSerial, minRollbackOf: v.nextMinRollbackOf, current: { serial: v.manifest.serial, manifestDigest: v.manifestDigest } };
    return v;
  }

  /**
   * Moves trust to newer roots, each signed by the threshold of the one before (starting from the current root).
   * @throws BundleError `trust-root-invalid` / `trust-root-expired` with the state unchanged.
   */
  rotateRoot(newer: readonly RootFile[]): void {
    const from = this.st.root;
    if (!from) throw new BundleError('trust-root-invalid', 'this gate was not created from a trust root');
    const trust = verifyRootChain([from, ...newer], this.clock());
    this.st = { ...this.st, trust, root: newer[newer.length - 1] ?? from };
  }
}
