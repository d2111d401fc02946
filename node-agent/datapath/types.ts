/**
 * The datapath manager's public shapes: what `openDatapath` returns and what its methods take and give back.
 * Everything here is plain data except `LoadedDatapath`, the live handle on loaded programs and maps.
 */
import type { IpcacheEntry, PolicyDirection, PolicyEntry } from '../../pipeline/core/compile/entries.js';

/** One of the two policy generations that live side by side in the maps. */
export type Generation = 0 | 1;

/** Direction as seen from the endpoint: `ingress` = into the pod, `egress` = out of the pod. */
export type Direction = PolicyDirection;

/**
 * Verdict names, in the order of the PALISADE_VERDICT_* constants (0..4). `audit`: policy would have dropped the
 * packet (the drop reason says why) but its endpoint audits, so it was forwarded.
 */
export type VerdictName = 'forwarded' | 'dropped' | 'proxy' | 'reply' | 'audit';

/**
 * Where the active generation audits instead of dropping: nowhere (`off`), at every endpoint (`all`), or at the
 * endpoints whose entry has `audit: true` (`flagged`) — PALISADE_CONTROL_AUDIT / _AUDIT_FLAGGED.
 */
export type AuditMode = 'off' | 'all' | 'flagged';

/**
 * Why a packet was dropped (PALISADE_DROP_*), or null when it passed. `INVALID_SIP` (Cilium's 132): the packet left
 * an endpoint with a source address that is not the endpoint's; its event and counter carry endpoint id 0.
 */
export type DropReason = null | 'POLICY_DENIED' | 'POLICY_DENY' | 'INVALID_SIP';

/** A complete generation: every ipcache and policy entry it holds. */
export interface GenerationTables {
  readonly ipcache: readonly IpcacheEntry[];
  readonly policy: readonly PolicyEntry[];
}

/** A local endpoint: its address (one row per address; IPv4 and IPv6 of the same pod share the id). */
export interface EndpointEntry {
  /** IPv4 or IPv6 address text (no prefix). */
  readonly address: string;
  /** 1..65535, the id the policy entries use. */
  readonly endpointId: number;
  /**
   * Host-side interface index (0 when unknown). When set, a packet from this address is accepted only on this
   * interface; elsewhere it is dropped as spoofed (INVALID_SIP).
   */
  readonly ifindex?: number;
  /** Audited while the control's audit mode is `flagged` (PALISADE_ENDPOINT_AUDIT). Default false. */
  readonly audit?: boolean;
}

/** What `stageGeneration` did. Durations in milliseconds. */
export interface StageReport {
  readonly gen: Generation;
  /** Entries of this generation removed before writing (left from an earlier staging). */
  readonly cleared: number;
  readonly ipcacheEntries: number;
  readonly policyEntries: number;
  /** Whether the map writes went through BPF_MAP_UPDATE_BATCH (false: one syscall per entry). */
  readonly ipcacheBatched: boolean;
  readonly policyBatched: boolean;
  readonly clearMs: number;
  readonly writeMs: number;
}

/** The control map's content. */
export interface ControlState {
  readonly activeGen: Generation;
  /** Bundle serial of the active generation (0 when never set). */
  readonly serial: bigint;
  /** True when verdict events are suppressed (PALISADE_CONTROL_EVENTS_OFF). */
  readonly eventsOff: boolean;
  /** Where the active generation audits instead of dropping. */
  readonly audit: AuditMode;
}

/** BPF_PROG_TEST_RUN result. `durationNs` is the kernel's average per repetition, in nanoseconds. */
export interface TestRunResult {
  /** The classifier's return code: 0 = TC_ACT_OK (pass), 2 = TC_ACT_SHOT (drop). */
  readonly retval: number;
  readonly durationNs: number;
}

/** One packet through the classifier, with the verdict event it produced (undefined for unmanaged traffic). */
export interface Classification extends TestRunResult {
  readonly event: VerdictEvent | undefined;
}

/** A decoded `struct verdict_event`. Addresses as text, ports host order. */
export interface VerdictEvent {
  /** bpf_ktime_get_ns at the verdict, nanoseconds since boot. */
  readonly tsNs: bigint;
  readonly srcIdentity: number;
  readonly dstIdentity: number;
  readonly ruleId: number;
  readonly endpointId: number;
  readonly dropReason: DropReason;
  readonly family: 4 | 6;
  readonly direction: Direction;
  readonly verdict: VerdictName;
  readonly protocol: number;
  readonly gen: Generation;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly saddr: string;
  readonly daddr: string;
  /** TCP/UDP/SCTP source port; ICMP echo: the echo id. */
  readonly sport: number;
  /** TCP/UDP/SCTP destination port; ICMP: 0. */
  readonly dport: number;
  /** skb length in bytes. */
  readonly pktLen: number;
}

/** One counter row, summed over CPUs. */
export interface CounterRow {
  readonly endpointId: number;
  readonly direction: Direction;
  readonly verdict: VerdictName;
  readonly gen: Generation;
  readonly packets: number;
  readonly bytes: number;
}

/** Kernel ids of the programs and maps a LoadedDatapath holds (as `bpftool prog/map list` shows), for leak checks. */
export interface KernelIds {
  readonly programs: readonly number[];
  readonly maps: readonly number[];
}

/** Options of `openDatapath`. */
export interface OpenDatapathOptions {
  /** The built BPF object (bpf/build/palisade.bpf.o). */
  readonly objectPath: string;
  /**
   * bpffs directory for the maps' pins (e.g. /sys/fs/bpf/palisade). Maps already pinned there are reused (an agent
   * restart keeps enforcing); `close()` removes only the pins this handle created.
   */
  readonly pinDir: string;
  /**
   * Maps to take from another datapath's pin directory instead of `pinDir` (they must be pinned there; they are
   * never unpinned by this handle). A probe datapath shares the generation tables of the enforcing one but has its
   * own control map, so BPF_PROG_TEST_RUN can judge by a generation that is not active yet.
   */
  readonly shareMaps?: { readonly pinDir: string; readonly maps: readonly ('ipcache' | 'endpoints' | 'policy')[] };
  /**
   * Capacity of this datapath's own conntrack map instead of the object's (262,144). Probe datapaths that judge one
   * packet at a time and clear conntrack between packets use a small one: clearing walks the map's hash buckets,
   * so a full-size empty map costs ~0.2 ms per clear.
   */
  readonly conntrackEntries?: number;
}

/** How full one map is. */
export interface MapPressure {
  /** `ipcache`, `policy` or `endpoints`. */
  readonly map: string;
  readonly entries: number;
  readonly max: number;
}

/** The live datapath: loaded programs and (pinned) maps. Every method throws LibbpfError on a kernel failure. */
export interface LoadedDatapath {
  /**
   * Replace generation `gen` with `tables`: clear what it held, then write all entries.
   * @throws DatapathError `stage-active` when `gen` is the active generation (stage the other one, then switch).
   * @throws DatapathError `bad-entry` on an entry that cannot be encoded (nothing written then).
   */
  stageGeneration(gen: Generation, tables: GenerationTables): StageReport;
  /**
   * Set the identity of single ipcache rows of generation `gen` in place (BPF_ANY: insert or replace), with one
   * BPF_MAP_UPDATE_BATCH where the kernel supports it. Allowed on the active generation: each row changes
   * atomically for the packets that look it up, but the set of rows is not switched as a whole (for that, stage a
   * generation and switch to it).
   * @returns how many rows were written and whether the write was batched
   * @throws DatapathError `bad-entry`/`bad-address` on a row that cannot be encoded, or a prefix listed twice (nothing
   *         written then); LibbpfError (ENOSPC) when the map is full
   */
  updateIpcache(gen: Generation, entries: readonly IpcacheEntry[]): { readonly written: number; readonly batched: boolean };
  /**
   * Remove ipcache rows of generation `gen` by prefix (CIDR text, as in IpcacheEntry); absent prefixes are skipped.
   * Batched where the kernel supports it. Allowed on the active generation (row by row, as `updateIpcache`).
   * @returns how many rows were removed
   * @throws DatapathError `bad-address` on a prefix that does not parse (nothing removed then)
   */
  deleteIpcache(gen: Generation, prefixes: readonly string[]): number;
  /** Remove every ipcache and policy entry of generation `gen` (also the active one: a caller's decision). @returns how many */
  clearGeneration(gen: Generation): number;
  /** Entries in use per generation table map (both generations together) and the map sizes. */
  mapPressure(): MapPressure[];
  /** The generation packets are judged by now. */
  activeGeneration(): Generation;
  /** The full control map entry. */
  control(): ControlState;
  /**
   * Make `gen` active: one write of the control map, so generation, serial and audit mode change together for the
   * next packet. `serial` and `audit` default to the current ones.
   */
  switchTo(gen: Generation, serial?: bigint, audit?: AuditMode): void;
  /** Set the audit mode of the active generation (one control write; keeps gen, serial and events). */
  setAudit(audit: AuditMode): void;
  /** Turn ring-buffer verdict events on or off (counters always count). Keeps gen and serial. */
  setEventsEnabled(enabled: boolean): void;
  /** Replace the set of local endpoints (not per generation). */
  setEndpoints(endpoints: readonly EndpointEntry[]): void;
  /**
   * Attach both classifiers to the host-side interface `ifname` (clsact: ingress = from the pod, egress = to it).
   * @returns its interface index
   * @throws LibbpfError / DatapathError `unknown-interface` when the interface does not exist
   */
  attach(ifname: string): number;
  /** Names of the interfaces this handle attached to. */
  attachedInterfaces(): string[];
  /** Remove this handle's filters from `ifname` and the clsact qdisc if this handle created it. */
  detach(ifname: string): void;
  /** BPF_PROG_TEST_RUN of one program on `packet` (Ethernet frame), `repeat` times (default 1). */
  testRun(direction: Direction, packet: Uint8Array, repeat?: number): TestRunResult;
  /** Run `packet` once and return its verdict event (events must be enabled; pending events are drained first). */
  classify(direction: Direction, packet: Uint8Array): Classification;
  /** All counter rows, summed over CPUs, sorted by endpoint, direction, gen, verdict. */
  readCounters(): CounterRow[];
  /** Remove every counter row. */
  resetCounters(): void;
  /** Remove every conntrack entry (tests and the kernel engine start each flow fresh). */
  resetConntrack(): void;
  /** Call `cb` for every verdict event, delivered by `pollEvents` or by a background poll every ~10 ms. Returns an unsubscribe. */
  onEvent(cb: (event: VerdictEvent) => void): () => void;
  /** Consume pending events now (waits up to `timeoutMs`, default 0); returns how many were delivered. */
  pollEvents(timeoutMs?: number): number;
  /** The kernel ids of this handle's programs and maps. */
  kernelIds(): KernelIds;
  /** Detach from every interface this handle attached, unpin the pins it created, free everything. Idempotent. */
  close(): void;
  /**
   * Free this process's handles but leave the datapath enforcing: filters stay attached, pins stay (an agent
   * restart or upgrade). The next `openDatapath` on the same pin directory reuses the maps, and its `attach`
   * replaces the filters in place. Idempotent; `close()` after `release()` does nothing.
   */
  release(): void;
}
