/**
 * The publish stage: build a bundle on the store's latest (serial + 1, parent = the latest manifest) and publish it
 * with compare-and-swap on that serial; when another publisher got there first, look again and rebuild. With a
 * commit, the stage is idempotent: a commit that the latest bundle was already built from (or that an ancestor of
 * the latest bundle's commit is) is not published again, however many callers (CLI, webhook, watch) see it.
 */
import type { BuiltBundle } from '../bundle-build/index.js';
import { StoreError, peekBundle, type BundleDescriptor, type BundleStore } from '../stores/index.js';
import { HandlerError } from './errors.js';

/** What the latest bundle of a store is, as far as publishing needs it. */
export interface LatestBundle {
  readonly descriptor: BundleDescriptor;
  /** The manifest digest: the next bundle's `parentDigest`. */
  readonly manifestDigest: string;
  /** The commit it was built from (`unknown` outside git). */
  readonly commit: string;
}

/** Inputs of {@link publishBundle}. */
export interface PublishBundleInput {
  readonly store: BundleStore;
  /** Builds the bundle for this serial and parent. May throw (policy errors); nothing is published then. */
  readonly build: (next: { readonly serial: number; readonly parentDigest: string | null }) => Promise<BuiltBundle>;
  /** The commit being published: when set, publishing it again is a no-op. */
  readonly commit?: string;
  /** Is `ancestor` an ancestor of `descendant`? Lets an older commit seen late be skipped instead of rolling back. */
  readonly isAncestor?: (ancestor: string, descendant: string) => Promise<boolean>;
  /** Builds tried before giving up on a serial race (default 2: one rebuild). */
  readonly maxAttempts?: number;
  /** Progress lines (a rebuild after a lost race). */
  readonly log?: (line: string) => void;
}

/** What the stage did. */
export type PublishOutcome =
  | { readonly kind: 'published'; readonly descriptor: BundleDescriptor; readonly built: BuiltBundle; readonly attempts: number }
  /** The latest bundle was built from this very commit. */
  | { readonly kind: 'already-published'; readonly latest: LatestBundle }
  /** The latest bundle was built from a later commit that contains this one. */
  | { readonly kind: 'superseded'; readonly latest: LatestBundle };

/**
 * Publishes one bundle on top of the store's latest.
 * @throws HandlerError `publish-conflict` when the serial was taken on every attempt; StoreError `store-corrupt` when
 *   the latest bundle cannot be read as a parent; whatever `build` and the store throw.
 */
export async function publishBundle(input: PublishBundleInput): Promise<PublishOutcome> {
  const { store } = input;
  const maxAttempts = input.maxAttempts ?? 2;
  let descriptor = await store.latest();
  for (let attempt = 1; ; attempt++) {
    const latest = descriptor ? await readLatest(store, descriptor) : undefined;
    if (latest && input.commit !== undefined) {
      if (latest.commit === input.commit) return { kind: 'already-published', latest };
      if (input.isAncestor && (await input.isAncestor(input.commit, latest.commit))) return { kind: 'superseded', latest };
    }
    const built = await input.build({ serial: (descriptor?.serial ?? 0) + 1, parentDigest: latest?.manifestDigest ?? null });
    try {
      const published = await store.publish({ serial: built.manifest.serial, bytes: built.bytes }, { expectLatestSerial: descriptor?.serial ?? 0 });
      return { kind: 'published', descriptor: published, built, attempts: attempt };
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'store-conflict') throw err;
      if (attempt >= maxAttempts) {
        throw new HandlerError('publish-conflict', `${err.message}; gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}`, { cause: err });
      }
      descriptor = err.current ?? (await store.latest());
      input.log?.(`serial ${built.manifest.serial} was taken by another publisher (latest is now ${descriptor?.serial ?? 0}); rebuilding`);
    }
  }
}

/**
 * Reads what publishing needs of the latest bundle.
 * @throws StoreError `store-corrupt` when it is not a readable bundle.
 */
export async function readLatest(store: BundleStore, descriptor: BundleDescriptor): Promise<LatestBundle> {
  const bytes = await store.get(descriptor.digest, { expectedSize: descriptor.size });
  try {
    const peek = peekBundle(bytes);
    return { descriptor, manifestDigest: peek.manifestDigest, commit: peek.source.commit };
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw new StoreError('store-corrupt', `${store.location}: the latest bundle (serial ${descriptor.serial}) cannot be read as a parent: ${err.message}`, { cause: err });
  }
}
