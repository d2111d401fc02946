/**
 * Making the rollback bundle an aborted rollout sends its nodes to: the stable bundle is fetched from the store,
 * verified against the same trust the agents use (the controller never re-signs what it could not verify), re-signed
 * as a rollback of the aborted serial (core/bundle/rollback.ts) and stored unlisted beside the bundles (its serial
 * is older than `latest`'s, so `latest` never names it; agents fetch it by digest from their target record).
 */
import { rollbackBundleOf, verifyBundle, type SigningKey, type TrustPolicy } from '../core/bundle/index.js';
import type { BundleStore, UnlistedBundleStore } from '../stores/index.js';
import type { BundleRef } from './types.js';

/** What making a rollback bundle needs. */
export interface RollbackMakerOptions {
  readonly bundles: BundleStore & UnlistedBundleStore;
  readonly trust: TrustPolicy;
  readonly keys: readonly SigningKey[];
  /** How long a rollback bundle stays valid, ms (default 30 days). */
  readonly lifetimeMs?: number;
  readonly now: () => number;
}

/**
 * A function that makes and stores the rollback bundle of `stable` reverting `revert`.
 * @throws (from the returned function) StoreError when the stable bundle cannot be fetched or the rollback stored;
 *   BundleError when the stable bundle does not verify or no key was given.
 */
export function rollbackMaker(o: RollbackMakerOptions): (stable: BundleRef, revert: BundleRef) => Promise<BundleRef> {
  return async (stable, revert) => {
    const now = new Date(o.now());
    const bytes = await o.bundles.get(stable.digest);
    const verified = await verifyBundle(bytes, { trust: o.trust, now, minSerial: stable.serial });
    const rollback = rollbackBundleOf(verified, { rollbackOf: revert.serial, createdAt: now, expiresAt: new Date(now.getTime() + (o.lifetimeMs ?? 30 * 86_400_000)) }, o.keys);
    const d = await o.bundles.storeUnlisted({ serial: verified.manifest.serial, bytes: rollback.bytes });
    return { serial: d.serial, digest: d.digest, size: d.size };
  };
}
