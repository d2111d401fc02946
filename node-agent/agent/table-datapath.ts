/**
 * The agent's datapath on the table lookup engine (pipeline/core/compile `DatapathMirror`, the algorithm the BPF
 * program runs) instead of the kernel: two generations, a switch, endpoints, policy drop counters fed by `send`.
 * It runs the apply cycle where there is no BPF (unit tests, dry runs); its self-tests are the same functions the
 * kernel datapath runs, over the table lookup.
 */
import type { BundleContents } from '../../pipeline/core/bundle/index.js';
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import { DatapathMirror, type CompiledTables, type PacketDecision, type PacketJudge, type PacketView, type PolicyEntry } from '../../pipeline/core/compile/index.js';
import { DatapathError, type Generation } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { auditedAddresses, datapathAuditMode, podAddressesOf } from './audit.js';
import { checkLiveProbes, selfTestProbes, type LiveProbe } from './self-test.js';
import type { AgentDatapath, ProbeMismatch } from './types.js';

/** Options of {@link TableDatapath}. */
export interface TableDatapathOptions {
  /** Policy entries one generation may hold (default: the kernel map's half). */
  readonly maxPolicyEntries?: number;
  /**
   * Fault injection: entries for which this returns true are lost when staged, as a datapath that drops map
   * writes would lose them (the self-test must catch it).
   */
  readonly loseOnStage?: (entry: PolicyEntry) => boolean;
}

/** The table-lookup datapath. */
export class TableDatapath implements AgentDatapath {
  private readonly gens: [CompiledTables | null, CompiledTables | null] = [null, null];
  private active: Generation = 0;
  private enforcing: DatapathMirror | null = null;
  private readonly drops: [number, number] = [0, 0];
  private readonly audited: [number, number] = [0, 0];
  /** Interfaces "attached" (local endpoints' interfaces of the active generation). */
  attached: string[] = [];
  serial = 0;

  constructor(private readonly options: TableDatapathOptions = {}) {}

  activeGeneration(): Generation {
    return this.active;
  }

  /** The tables generation `gen` holds. */
  generation(gen: Generation): CompiledTables | null {
    return this.gens[gen];
  }

  stage(gen: Generation, tables: CompiledTables): void {
    if (gen === this.active && this.enforcing) throw new DatapathError('stage-active', `generation ${gen} is active`);
    const max = this.options.maxPolicyEntries ?? 131_072;
    if (tables.policy.length > max) {
      this.gens[gen] = null;
      throw new DatapathError('map-full', `policy: ${tables.policy.length} entries do not fit (max ${max})`);
    }
    const lose = this.options.loseOnStage;
    this.gens[gen] = lose ? { ...tables, policy: tables.policy.filter((e) => !lose(e)) } : tables;
  }

  async selfTestBundle(contents: BundleContents, audit?: AuditScope): Promise<ProbeMismatch | null> {
    let mirror: DatapathMirror | undefined;
    const judge: PacketJudge = {
      sync: (m) => {
        mirror = m;
      },
      judge: (p) => mirror!.judge(p),
    };
    return selfTestProbes(contents, judge, audit);
  }

  async selfTestLive(gen: Generation, tables: CompiledTables, probes: readonly LiveProbe[], audit?: AuditScope): Promise<ProbeMismatch | null> {
    const staged = this.gens[gen];
    if (!staged) throw new DatapathError('bad-generation', `generation ${gen} is empty`);
    const mirror = withAudit(new DatapathMirror({ ...staged, endpoints: tables.endpoints }), tables, auditedAddresses(probes.flatMap((p) => [p.flow.src, p.flow.dst]), audit), audit);
    return checkLiveProbes(probes, (p) => mirror.judge(p));
  }

  activate(gen: Generation, serial: number, tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void {
    const staged = this.gens[gen];
    if (!staged) throw new DatapathError('bad-generation', `generation ${gen} is empty`);
    this.active = gen;
    this.serial = serial;
    this.enforcing = withAudit(new DatapathMirror({ ...staged, endpoints: tables.endpoints }), tables, auditedAddresses(podAddressesOf(endpoints), audit), audit);
    this.attached = endpoints.pods.flatMap((p) => (p.interface !== undefined ? [p.interface] : []));
  }

  setAudit(tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void {
    if (!this.enforcing) throw new DatapathError('bad-generation', 'nothing is enforced');
    this.enforcing.auditedEndpoints.clear();
    withAudit(this.enforcing, tables, auditedAddresses(podAddressesOf(endpoints), audit), audit);
  }

  /** Where the active generation audits now (`off`, `all`, `flagged`). */
  auditMode(): string {
    return this.enforcing?.audit ?? 'off';
  }

  deactivate(): void {
    this.enforcing = null;
    this.attached = [];
    this.serial = 0;
  }

  patchIpcache(gen: Generation, upserts: CompiledTables['ipcache'], removals: readonly string[]): void {
    const t = this.gens[gen];
    if (!t) throw new DatapathError('bad-generation', `generation ${gen} is empty`);
    const gone = new Set([...removals, ...upserts.map((e) => e.prefix)]);
    this.gens[gen] = { ...t, ipcache: [...t.ipcache.filter((e) => !gone.has(e.prefix)), ...upserts] };
    if (gen === this.active && this.enforcing) {
      const before = this.enforcing;
      this.enforcing = new DatapathMirror({ ...this.gens[gen]!, endpoints: t.endpoints });
      this.enforcing.audit = before.audit;
      for (const id of before.auditedEndpoints) this.enforcing.auditedEndpoints.add(id);
    }
  }

  policyDrops(gen: Generation): number {
    return this.drops[gen];
  }

  auditedDrops(gen: Generation): number {
    return this.audited[gen];
  }

  /** Judges one packet by the active generation (counting policy drops); unjudged when nothing is enforced. */
  send(packet: PacketView): PacketDecision {
    if (!this.enforcing) return { judged: false };
    const d = this.enforcing.judge(packet);
    if (d.judged && d.verdict === 'dropped') this.drops[this.active]++;
    if (d.judged && d.verdict === 'audit') this.audited[this.active]++;
    return d;
  }
}

/** `mirror` set to audit as `audit` says, with the endpoints of `audited` addresses flagged. @returns mirror */
function withAudit(mirror: DatapathMirror, tables: CompiledTables, audited: ReadonlySet<string>, audit: AuditScope | undefined): DatapathMirror {
  mirror.audit = datapathAuditMode(audit);
  for (const e of tables.endpoints) if (audited.has(e.address)) mirror.auditedEndpoints.add(e.endpointId);
  return mirror;
}
