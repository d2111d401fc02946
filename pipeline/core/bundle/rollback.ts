/**
 * Rollback bundles: how a fleet goes back. A bundle's serial only moves forward through the gate, so an agent that
 * accepted serial R refuses the older stable bundle S < R as a rollback attack; what it accepts is a bundle signed
 * anew whose manifest names the serial it reverts (`rollbackOf: R`). It carries the stable bundle's components
 * byte for byte under the stable serial, so its policy is exactly the one that ran before, and an agent that never
 * saw R accepts it too (its minimum rollback serial is at most R). After it, the gate refuses R itself (the next
 * minimum serial passes R) and any rollback of an earlier serial (a replayed older rollback).
 */
import { assembleBundle, type AssembledBundle } from './assemble.js';
import { BundleError } from './errors.js';
import type { SigningKey } from './keys.js';
import type { VerifiedBundle } from './verify.js';

/** What a rollback bundle says beyond the stable bundle it carries. */
export interface RollbackInput {
  /** The serial being reverted (the bad bundle's); above the stable bundle's serial. */
  readonly rollbackOf: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/**
 * The rollback bundle of `stable` (already verified) reverting serial `rollbackOf`, signed by `keys`.
 * @throws BundleError `bundle-malformed` when `rollbackOf` is not above the stable serial, or when the stable
 *   bundle lacks a component its manifest names.
 */
export function rollbackBundleOf(stable: VerifiedBundle, input: RollbackInput, keys: readonly SigningKey[]): AssembledBundle {
  const m = stable.manifest;
  if (!Number.isSafeInteger(input.rollbackOf) || input.rollbackOf <= m.serial) {
    throw new BundleError('bundle-malformed', `a rollback of serial ${input.rollbackOf} cannot carry serial ${m.serial}: it must revert a later serial`);
  }
  const components = m.components.map((c) => {
    const bytes = stable.components.get(c.name);
    if (!bytes) throw new BundleError('bundle-malformed', `component '${c.name}' of serial ${m.serial} is missing`);
    return { name: c.name, mediaType: c.mediaType, bytes };
  });
  return assembleBundle(
    {
      serial: m.serial,
      rollbackOf: input.rollbackOf,
      source: m.source,
      createdAt: input.createdAt,
      expiresAt: input.expiresAt,
      parentDigest: stable.manifestDigest,
      abiVersion: m.abiVersion,
    },
    components,
    keys,
  );
}
