/**
 * One controller at a time on a store whose compare-and-swap is only verified (an OCI registry, see
 * stores/oci-records.ts): such a store cannot arbitrate between two controllers writing the rollout record, so each
 * controller beats in the `controller` record every tick and stands down while another controller's beat is fresh.
 *
 * "Fresh" is judged without comparing clocks across hosts: a beat is alive while its version keeps changing; a
 * controller that sees the same foreign version unchanged for {@link STALE_BEATS} of the other's intervals (on its
 * own clock) takes over. So a restarted controller (a new id) waits that long before acting.
 *
 * What this gives: a second controller started by mistake stands down and says so, within one tick. What it does
 * not: mutual exclusion. Two controllers that start within one registry round trip of each other can both act for
 * a tick before one sees the other's beat; their writes are still checked and read back. Where two controllers must
 * run (high availability), use the Kubernetes backend: its Lease is a real compare-and-swap.
 */
import { escapeUntrusted } from '../core/text/escape-untrusted.js';
import { StoreError, type RecordStore } from '../stores/index.js';

/** The heartbeat record. */
export const CONTROLLER_RECORD = 'controller';
/** Unchanged beats after which another controller counts as gone. */
export const STALE_BEATS = 3;

interface Beat {
  readonly id: string;
  readonly intervalMs: number;
  readonly beatAt: number;
}

function parseBeat(v: unknown): Beat | undefined {
  const b = v as Partial<Beat> | null;
  if (typeof b !== 'object' || b === null || typeof b.id !== 'string' || typeof b.intervalMs !== 'number' || !(b.intervalMs > 0) || typeof b.beatAt !== 'number') return undefined;
  return { id: escapeUntrusted(b.id.slice(0, 200)), intervalMs: Math.min(b.intervalMs, 3_600_000), beatAt: b.beatAt };
}

/** This controller's beat in a store. */
export class ControllerHeartbeat {
  #seen: { version: string; since: number } | undefined;
  #waitingFor: string | undefined;

  constructor(
    private readonly records: RecordStore,
    readonly id: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Beats, unless another controller's beat is fresh.
   * @param now this controller's clock (ms)
   * @param intervalMs this controller's tick interval
   * @returns true when this controller may act this tick.
   * @throws StoreError when the store fails (a conflict is a lost claim, not an error).
   */
  async claim(now: number, intervalMs: number): Promise<boolean> {
    const rec = await this.records.getRecord(CONTROLLER_RECORD);
    const other = rec ? parseBeat(rec.value) : undefined;
    if (rec && other && other.id !== this.id) {
      if (this.#seen?.version !== rec.version) this.#seen = { version: rec.version, since: now };
      const quietMs = now - this.#seen.since;
      const staleMs = STALE_BEATS * Math.max(other.intervalMs, intervalMs);
      if (quietMs < staleMs) {
        if (this.#waitingFor !== other.id) {
          this.#waitingFor = other.id;
          this.log(`rollout: another controller (${other.id}) is beating in ${this.records.location}; standing down: this store cannot arbitrate between two controllers, so run one (or the Kubernetes backend, whose Lease can). Taking over if its beat stops for ${Math.round(staleMs / 1000)} s`);
        }
        return false;
      }
      this.log(`rollout: controller ${other.id} stopped beating ${Math.round(quietMs / 1000)} s ago; taking over`);
    }
    try {
      await this.records.putRecord(CONTROLLER_RECORD, { id: this.id, intervalMs, beatAt: now } satisfies Beat, rec?.version ?? null);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'store-conflict')) throw err;
      this.log(`rollout: another controller wrote the ${CONTROLLER_RECORD} record at the same time; standing down this tick`);
      this.#seen = undefined;
      return false;
    }
    this.#waitingFor = undefined;
    return true;
  }
}
