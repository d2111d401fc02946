/**
 * The agent's state directory: what must survive a restart or crash, each file replaced atomically (temp file in the
 * same directory, fsync, rename, fsync of the directory), so a reader sees the old content or the new, never a mix.
 *
 * | file | content |
 * |---|---|
 * | `trusted.json` | the gate's memory: lowest acceptable serial, trust root version |
 * | `enforced.json`, `enforced.bundle` | the last-known-good: its record and the bundle file itself (re-verified on restart) |
 * | `rejections.json` | bundles refused, newest last (at most 256), so the same bundle is not retried |
 * | `rollback.json` | the last automatic switch back |
 * | `status.json` | the running agent's view: store reachability, endpoints, map pressure (for `status`) |
 * | `agent.lock` | the pid of the agent that owns this directory |
 */
import { mkdirSync, openSync, closeSync, writeSync, readFileSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renameDurable, tempName, unlinkQuiet, writeDurable } from '../../pipeline/stores/fs-atomic.js';
import { AgentError } from './errors.js';
import { parseAuditScope, type AuditScope } from '../../pipeline/core/evaluate/index.js';
import type { AgentPersistence, EnforcedRecord, RejectionRecord, RollbackRecord, TrustedState } from './types.js';

/** Rejections kept. */
export const MAX_REJECTIONS = 256;
/** Largest state file read back, in bytes (the bundle file has the bundle limit). */
const MAX_STATE_FILE = 4 * 1024 * 1024;

/** What `status.json` holds (written by the run loop). */
export interface RuntimeStatus {
  readonly pid: number;
  readonly updatedAt: string;
  readonly store: { readonly location: string; readonly up: boolean; readonly lastError: string | null; readonly nextAttemptAt: string | null };
  readonly endpoints: { readonly source: string; readonly pods: number; readonly local: number; readonly lastError: string | null };
  /** Per local endpoint: policy entries in the enforced generation. */
  readonly endpointEntries: readonly { readonly endpoint: string; readonly entries: number; readonly max: number }[];
  /** Per map: entries in use (both generations) and size. */
  readonly mapPressure: readonly { readonly map: string; readonly entries: number; readonly max: number }[];
  readonly applying: string | null;
}

/** Everything read back from a state directory. */
export interface PersistedState {
  readonly trusted: TrustedState | null;
  readonly enforced: { readonly record: EnforcedRecord; readonly bundle: Uint8Array } | null;
  readonly rejections: readonly RejectionRecord[];
  readonly rollback: RollbackRecord | null;
  readonly status: RuntimeStatus | null;
}

/** One state directory. */
export class StateDir implements AgentPersistence {
  constructor(readonly dir: string) {}

  /** Creates the directory (mode 0700) when missing. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Takes the directory for this process: writes `agent.lock` with our pid, replacing a lock whose process is gone.
   * @returns a release function
   * @throws AgentError `state-corrupt` when another live agent holds it
   */
  lock(): () => void {
    const path = join(this.dir, 'agent.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return () => {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(path, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          throw new AgentError('state-corrupt', `${this.dir} is in use by agent pid ${pid}`);
        }
        unlinkSync(path); // its owner died: take over
      }
    }
    throw new AgentError('state-corrupt', `${this.dir}: cannot take agent.lock`);
  }

  private async write(name: string, bytes: Uint8Array): Promise<void> {
    this.ensure();
    const temp = tempName(this.dir);
    try {
      await writeDurable(temp, bytes);
      await renameDurable(temp, join(this.dir, name), this.dir);
    } catch (err) {
      await unlinkQuiet(temp);
      throw err;
    }
  }

  private writeJson(name: string, value: unknown): Promise<void> {
    return this.write(name, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
  }

  async saveTrusted(trusted: TrustedState): Promise<void> {
    await this.writeJson('trusted.json', { version: 1, ...trusted });
  }

  async saveEnforced(record: EnforcedRecord, bundle: Uint8Array): Promise<void> {
    // The bundle first: a crash between the two leaves the old record, whose digest the new file does not match.
    await this.write('enforced.bundle', bundle);
    await this.writeJson('enforced.json', { version: 1, ...record });
  }

  async saveRejection(record: RejectionRecord): Promise<void> {
    const list = (await this.readJson('rejections.json', parseRejections)) ?? [];
    const kept = list.filter((r) => r.bundleDigest !== record.bundleDigest);
    kept.push(record);
    await this.writeJson('rejections.json', { version: 1, rejections: kept.slice(-MAX_REJECTIONS) });
  }

  async saveRollback(record: RollbackRecord): Promise<void> {
    await this.writeJson('rollback.json', { version: 1, ...record });
  }

  /** Writes status.json. */
  async saveStatus(status: RuntimeStatus): Promise<void> {
    await this.writeJson('status.json', status);
  }

  /**
   * Reads everything back; missing files are null/empty.
   * @throws AgentError `state-corrupt` naming the file that does not parse, or an enforced.bundle whose digest is not the record's
   */
  async read(): Promise<PersistedState> {
    const trusted = await this.readJson('trusted.json', parseTrusted);
    const record = await this.readJson('enforced.json', parseEnforced);
    let enforced: PersistedState['enforced'] = null;
    if (record) {
      const bundle = await readFile(join(this.dir, 'enforced.bundle')).catch(() => null);
      if (!bundle) throw new AgentError('state-corrupt', `${join(this.dir, 'enforced.bundle')} is missing`);
      enforced = { record, bundle: new Uint8Array(bundle) };
    }
    return {
      trusted,
      enforced,
      rejections: (await this.readJson('rejections.json', parseRejections)) ?? [],
      rollback: await this.readJson('rollback.json', parseRollback),
      status: await this.readJson('status.json', (v) => v as unknown as RuntimeStatus),
    };
  }

  private async readJson<T>(name: string, parse: (v: Record<string, unknown>) => T): Promise<T | null> {
    const path = join(this.dir, name);
    let text: string;
    try {
      const bytes = await readFile(path);
      if (bytes.length > MAX_STATE_FILE) throw new AgentError('state-corrupt', `${path}: larger than ${MAX_STATE_FILE} bytes`);
      text = bytes.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof AgentError) throw err;
      throw new AgentError('state-corrupt', `${path}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { cause: err });
    }
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return parse(v as Record<string, unknown>);
    } catch (err) {
      throw new AgentError('state-corrupt', `${path}: ${(err as Error).message} (move it away to start over)`, { cause: err });
    }
  }
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const int = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${what} is not a whole number`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
};
const intOrNull = (v: unknown, what: string): number | null => (v === null ? null : int(v, what));

function parseTrusted(v: Record<string, unknown>): TrustedState {
  const minSerial = int(v.minSerial, 'minSerial');
  return { minSerial, minRollbackOf: v.minRollbackOf === undefined ? minSerial : int(v.minRollbackOf, 'minRollbackOf'), trustRootVersion: intOrNull(v.trustRootVersion ?? null, 'trustRootVersion') };
}

function parseEnforced(v: Record<string, unknown>): EnforcedRecord {
  const gen = int(v.generation, 'generation');
  if (gen !== 0 && gen !== 1) throw new Error('generation is not 0 or 1');
  return {
    serial: int(v.serial, 'serial'),
    rollbackOf: intOrNull(v.rollbackOf ?? null, 'rollbackOf'),
    manifestDigest: str(v.manifestDigest, 'manifestDigest'),
    bundleDigest: str(v.bundleDigest, 'bundleDigest'),
    repository: str(v.repository, 'repository'),
    commit: str(v.commit, 'commit'),
    generation: gen,
    since: str(v.since, 'since'),
    ...(v.audit === undefined ? {} : { audit: parseAudit(v.audit) }),
  };
}

function parseAudit(v: unknown): AuditScope {
  const audit = parseAuditScope(v);
  if (!audit) throw new Error('audit is not {kind: all} or {kind: namespaces, namespaces: [...]}');
  return audit;
}

function parseRejections(v: Record<string, unknown>): RejectionRecord[] {
  if (!Array.isArray(v.rejections)) throw new Error('rejections is not a list');
  return v.rejections.map((r: Record<string, unknown>, i: number) => ({
    bundleDigest: str(r.bundleDigest, `rejections[${i}].bundleDigest`),
    serial: intOrNull(r.serial ?? null, `rejections[${i}].serial`),
    step: str(r.step, `rejections[${i}].step`) as RejectionRecord['step'],
    code: str(r.code, `rejections[${i}].code`),
    message: str(r.message, `rejections[${i}].message`),
    at: str(r.at, `rejections[${i}].at`),
  }));
}

function parseRollback(v: Record<string, unknown>): RollbackRecord {
  return {
    fromSerial: int(v.fromSerial, 'fromSerial'),
    toSerial: intOrNull(v.toSerial ?? null, 'toSerial'),
    reason: str(v.reason, 'reason'),
    message: str(v.message, 'message'),
    at: str(v.at, 'at'),
  };
}
