/**
 * The agent's flow log: verdict events as Hubble JSON lines in `<state-dir>/flows.jsonl`, rotated to `flows.1.jsonl`
 * at a size limit (one old file kept), so `palisade-agent observe` can read them while the agent is the only
 * consumer of the kernel's ring buffer (a ring buffer has one reader position).
 */
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Size at which flows.jsonl is rotated, in bytes. */
export const FLOW_LOG_BYTES = 16 * 1024 * 1024;
/** The current flow log's file name (in the state directory). */
export const FLOW_LOG = 'flows.jsonl';
/** The previous flow log's file name, after a rotation. */
export const FLOW_LOG_OLD = 'flows.1.jsonl';

/** Lines buffered before a write, in bytes (events arrive per packet: one write each would be a syscall each). */
const FLUSH_BYTES = 256 * 1024;

/** Appends lines to the flow log, buffered: `flush()` (or a full buffer) writes them. */
export class FlowLog {
  private fd: number;
  private size: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes = FLOW_LOG_BYTES,
  ) {
    const path = join(dir, FLOW_LOG);
    this.size = existsSync(path) ? statSync(path).size : 0;
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Buffers one line (newline added); writes the buffer when it is full. */
  append(line: string): void {
    const bytes = Buffer.from(`${line}\n`);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes the buffered lines, rotating before a line that would pass the size limit. */
  flush(): void {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const write = () => {
      if (chunkBytes > 0) writeSync(this.fd, Buffer.concat(chunk, chunkBytes));
      this.size += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    for (const bytes of this.pending) {
      if (this.size + chunkBytes > 0 && this.size + chunkBytes + bytes.length > this.maxBytes) {
        write();
        closeSync(this.fd);
        renameSync(join(this.dir, FLOW_LOG), join(this.dir, FLOW_LOG_OLD));
        this.fd = openSync(join(this.dir, FLOW_LOG), 'a', 0o600);
        this.size = 0;
      }
      chunk.push(bytes);
      chunkBytes += bytes.length;
    }
    write();
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes and closes. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
