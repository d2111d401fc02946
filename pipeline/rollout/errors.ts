/** Errors of the rollout model and controller. */
import { PalisadeError } from '../core/errors.js';

/** Stable codes of {@link RolloutError}. */
export type RolloutErrorCode =
  /** A rollout was asked to start for a bundle not newer than the current rollout's. */
  | 'rollout-stale-bundle'
  /** An operator command does not apply to the rollout's phase (e.g. resume of a completed rollout). */
  | 'rollout-wrong-phase'
  /** A rollout spec is not usable (no waves, a percentage outside 1–100, a negative duration...). */
  | 'rollout-spec-invalid';

/** A rollout decision or command was refused; the state is unchanged. */
export class RolloutError extends PalisadeError {
  declare readonly code: RolloutErrorCode;
  constructor(code: RolloutErrorCode, message: string) {
    super(code, message);
  }
}
