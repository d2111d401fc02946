/**
 * A BPF ring buffer consumer (libbpf ring_buffer__*). Records are copied out and handed to a callback, either when
 * `poll`/`consume` is called or, after `watch()`, whenever the ring's epoll fd becomes readable on the event loop.
 */
import { checkPtr, errorFor } from './check.js';
import { Errno } from './errors.js';
import { copyFromNative, loadNative, registerCallback, unregisterCallback, watchReadable, type Native, type NativePtr } from './native.js';

/** Consumer of one BPF_MAP_TYPE_RINGBUF map. `free()` it when done. */
export class RingBuffer {
  private readonly native: Native;
  private rb: NativePtr | null;
  private readonly cbHandle: unknown;
  private watcher: { stop(): void; unref(): void } | undefined;
  private failure: unknown;

  /**
   * @param mapFd fd of the ring buffer map.
   * @param onRecord receives a copy of each record's bytes. If it throws, consumption stops and the error is rethrown
   *                 from the poll/consume that delivered it.
   * @throws LibbpfError when the fd is no ring buffer.
   */
  constructor(mapFd: number, onRecord: (data: Uint8Array) => void) {
    this.native = loadNative();
    const sample = (_ctx: unknown, data: unknown, size: number | bigint): number => {
      try {
        onRecord(copyFromNative(data, Number(size)));
        return 0;
      } catch (err) {
        this.failure = err;
        return -1; // stops ring_buffer__consume
      }
    };
    this.cbHandle = registerCallback(sample as (...args: never[]) => unknown, this.native.sampleFnType);
    try {
      this.rb = checkPtr(this.native, 'ring_buffer__new', this.native.ring_buffer__new(mapFd, this.cbHandle, null, null), `fd ${mapFd}`);
    } catch (err) {
      unregisterCallback(this.cbHandle);
      throw err;
    }
  }

  private after(operation: string, rc: number): number {
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    if (rc < 0 && rc !== -Errno.EINTR) throw errorFor(operation, -rc);
    return Math.max(rc, 0);
  }

  /** Deliver every pending record without waiting. @returns how many. */
  consume(): number {
    if (this.rb === null) return 0;
    return this.after('ring_buffer__consume', this.native.ring_buffer__consume(this.rb));
  }

  /** Wait up to `timeoutMs` for records (blocks the thread: keep it short), deliver them. @returns how many. */
  poll(timeoutMs: number): number {
    if (this.rb === null) return 0;
    return this.after('ring_buffer__poll', this.native.ring_buffer__poll(this.rb, Math.max(0, Math.floor(timeoutMs))));
  }

  /**
   * Consume automatically whenever records arrive (event-loop driven, no timer). The watch does not keep the process
   * alive. Errors from the record callback go to `onError`.
   */
  watch(onError: (err: unknown) => void): void {
    if (this.rb === null || this.watcher) return;
    const epfd = this.native.ring_buffer__epoll_fd(this.rb);
    this.watcher = watchReadable(epfd, () => {
      try {
        this.consume();
      } catch (err) {
        onError(err);
      }
    });
    this.watcher.unref();
  }

  /** Stop a `watch`. */
  unwatch(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  /** Release the consumer. Idempotent. */
  free(): void {
    this.unwatch();
    if (this.rb === null) return;
    this.native.ring_buffer__free(this.rb);
    this.rb = null;
    unregisterCallback(this.cbHandle);
  }
}
