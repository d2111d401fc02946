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

/** Appends lines to the flow log. */
export class FlowLog {
  private fd: number;
  private size: number;

  constructor(
    private readonly dir: string,
    private readonly maxBytes = FLOW_LOG_BYTES,
  ) {
    const path = join(dir, FLOW_LOG);
    this.size = existsSync(path) ? statSync(path).size : 0;
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Appends one line (newline added), rotating first when it would pass the limit. */
  append(line: string): void {
    const bytes = Buffer.from(`${line}\n`);
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) {
      closeSync(this.fd);
      renameSync(join(this.dir, FLOW_LOG), join(this.dir, FLOW_LOG_OLD));
      this.fd = openSync(join(this.dir, FLOW_LOG), 'a', 0o600);
      this.size = 0;
    }
    writeSync(this.fd, bytes);
    this.size += bytes.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
