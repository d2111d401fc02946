/**
 * The operator's commands on the stored rollout (`palisade rollout pause|resume|promote|abort`): read the record,
 * apply the pure command (./step.ts), write it back with compare-and-swap, and try again on a conflict with a
 * controller tick, so a command is never lost and never applied twice.
 */
import { StoreError, type RecordStore } from '../stores/index.js';
import { ROLLOUT_RECORD, parseRolloutState } from './fleet-records.js';
import { readFleet } from './controller.js';
import { RolloutError } from './errors.js';
import { abort, pause, promote, resume } from './step.js';
import type { RolloutEvent, RolloutSpec, RolloutState } from './types.js';

/** An operator command. */
export type OperatorCommand = 'pause' | 'resume' | 'promote' | 'abort';

/**
 * Applies `command` to the stored rollout.
 * @returns the new state and its events.
 * @throws RolloutError `rollout-wrong-phase` (e.g. resume of a completed rollout) or when there is no rollout;
 *   StoreError when the store fails, or keeps conflicting.
 */
export async function operateRollout(records: RecordStore, spec: RolloutSpec, command: OperatorCommand, reason: string, now: () => number): Promise<{ state: RolloutState; events: readonly RolloutEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const rec = await records.getRecord(ROLLOUT_RECORD);
    const state = rec ? parseRolloutState(rec.value) : undefined;
    if (!rec || !state) throw new RolloutError('rollout-wrong-phase', `no rollout in ${records.location}: nothing has been published`);
    const t = now();
    const result =
      command === 'pause'
        ? pause(state, t, reason)
        : command === 'resume'
          ? resume(state, t)
          : command === 'promote'
            ? promote(state, spec, (await readFleet(records)).fleet, t)
            : abort(state, (await readFleet(records)).reports, t, reason);
    try {
      await records.putRecord(ROLLOUT_RECORD, result.state, rec.version);
      return { state: result.state, events: result.events };
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'store-conflict') || attempt >= 4) throw err;
    }
  }
}
