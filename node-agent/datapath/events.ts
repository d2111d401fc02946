/**
 * The event half of the datapath: the ring buffer of verdict events, its listeners and polling, and `classify`
 * (BPF_PROG_TEST_RUN of one packet together with the event it produced).
 */
import { type BpfMap, type BpfProgram, RingBuffer } from '../libbpf/index.js';
import { decodeVerdictEvent } from './abi.js';
import type { Classification, Direction, TestRunResult, VerdictEvent } from './types.js';

/** The verdict events of one datapath handle, and its test runs. */
export class EventStream {
  private ring: RingBuffer | undefined;
  private readonly listeners = new Set<(e: VerdictEvent) => void>();
  private lastEvents: VerdictEvent[] = [];
  private collecting = false;
  private pendingError: unknown;

  constructor(
    private readonly events: BpfMap,
    private readonly from: BpfProgram,
    private readonly to: BpfProgram,
  ) {}

  private ensureRing(): RingBuffer {
    if (!this.ring) {
      this.ring = new RingBuffer(this.events.fd, (data) => {
        const e = decodeVerdictEvent(data);
        if (this.collecting) this.lastEvents.push(e);
        for (const l of this.listeners) l(e);
      });
    }
    return this.ring;
  }

  /** See LoadedDatapath.testRun. */
  testRun(direction: Direction, packet: Uint8Array, repeat = 1): TestRunResult {
    const prog = direction === 'egress' ? this.from : this.to;
    return prog.testRun(packet, repeat);
  }

  /** See LoadedDatapath.classify (the caller checks that events are on). */
  classify(direction: Direction, packet: Uint8Array): Classification {
    const ring = this.ensureRing();
    ring.consume(); // deliver whatever was pending, so the event below is this packet's
    this.lastEvents = [];
    this.collecting = true;
    let r: TestRunResult;
    try {
      r = this.testRun(direction, packet, 1);
      ring.consume();
    } finally {
      this.collecting = false;
    }
    const event = this.lastEvents[this.lastEvents.length - 1];
    this.lastEvents = [];
    return { retval: r.retval, durationNs: r.durationNs, event };
  }

  /** See LoadedDatapath.onEvent. */
  onEvent(cb: (event: VerdictEvent) => void): () => void {
    const ring = this.ensureRing();
    this.listeners.add(cb);
    ring.watch((err) => {
      // A listener threw: surface it on the next pollEvents rather than crashing the event loop.
      this.pendingError = err;
    });
    return () => {
      this.listeners.delete(cb);
      if (this.listeners.size === 0) ring.unwatch();
    };
  }

  /** See LoadedDatapath.pollEvents. */
  poll(timeoutMs = 0): number {
    if (this.pendingError !== undefined) {
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
    const ring = this.ensureRing();
    return timeoutMs > 0 ? ring.poll(timeoutMs) : ring.consume();
  }

  /** Frees the ring buffer and drops the listeners. Idempotent. */
  free(): void {
    this.ring?.free();
    this.ring = undefined;
    this.listeners.clear();
  }
}
