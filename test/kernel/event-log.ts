/**
 * Verdict events of a kernel test, collected from one datapath, and the per-test reset that goes with them: drain the
 * ring, forget what was seen, zero the counters and (unless told otherwise) the conntrack table.
 */
import type { LoadedDatapath, VerdictEvent } from '../../node-agent/datapath/index.js';

/** The events a datapath delivered since the last `reset`, and the reset itself. */
export interface EventLog {
  /** Events so far, after draining the ring (the same array until the next `reset`). */
  seen(): VerdictEvent[];
  /** Drain the ring and forget its events, zero the counters, and clear conntrack unless `conntrack` is false. */
  reset(options?: { readonly conntrack?: boolean }): void;
  /** Stop collecting (later events are not added). */
  stop(): void;
}

/** Subscribes to `dp`'s verdict events; call once per datapath, then `reset` before each test. */
export function recordEvents(dp: LoadedDatapath): EventLog {
  let events: VerdictEvent[] = [];
  const stop = dp.onEvent((e) => events.push(e));
  return {
    seen() {
      dp.pollEvents();
      return events;
    },
    reset({ conntrack = true } = {}) {
      dp.pollEvents();
      events = [];
      dp.resetCounters();
      if (conntrack) dp.resetConntrack();
    },
    stop,
  };
}
