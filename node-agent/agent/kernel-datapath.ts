/**
 * The agent's datapath on this kernel: the pinned, enforcing LoadedDatapath, plus short-lived private loads for the
 * self-tests — the bundle's own BPF object for its signed probes (a), and a probe load of the enforcing object that
 * shares the generation tables but has its own control map, so the staged generation is judged by
 * BPF_PROG_TEST_RUN before it is active (b).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundleContents } from '../../pipeline/core/bundle/index.js';
import type { CompiledTables, PacketDecision } from '../../pipeline/core/compile/index.js';
import type { AuditScope } from '../../pipeline/core/evaluate/index.js';
import { buildPacket, openDatapath, type EndpointEntry, type Generation, type LoadedDatapath } from '../datapath/index.js';
import type { EndpointSet } from '../discovery/index.js';
import { ConntrackShadow, eventDecision, kernelJudge } from '../engine/index.js';
import { auditedAddresses, datapathAuditMode, podAddressesOf } from './audit.js';
import { codeOf, messageOf } from './cycle.js';
import type { AgentLog } from './log.js';
import { checkLiveProbes, selfTestProbes, type LiveProbe } from './self-test.js';
import type { AgentDatapath, ProbeMismatch } from './types.js';

/** Source port of synthesized TCP/UDP/SCTP probe packets. */
const PROBE_SPORT = 40000;

/** Options of {@link KernelAgentDatapath}. */
export interface KernelDatapathOptions {
  /** The object the enforcing datapath was loaded from (the probe load uses it too). */
  readonly objectPath: string;
  /** The enforcing datapath's pin directory; self-tests pin under `<pinDir>-selftest` and `<pinDir>-probe`. */
  readonly pinDir: string;
  readonly log: AgentLog;
}

/** Conntrack capacity of the self-test datapaths: a probe creates at most one entry and each is cleared after it. */
const PROBE_CONNTRACK_ENTRIES = 64;

/** The kernel datapath as the apply cycle drives it. */
export class KernelAgentDatapath implements AgentDatapath {
  constructor(
    readonly dp: LoadedDatapath,
    private readonly options: KernelDatapathOptions,
  ) {}

  activeGeneration(): Generation {
    return this.dp.activeGeneration();
  }

  stage(gen: Generation, tables: CompiledTables): void {
    this.dp.stageGeneration(gen, { ipcache: tables.ipcache, policy: tables.policy });
  }

  async selfTestBundle(contents: BundleContents, audit?: AuditScope): Promise<ProbeMismatch | null> {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-agent-object-'));
    let dp: LoadedDatapath | undefined;
    try {
      const objectPath = join(dir, 'palisade.bpf.o');
      writeFileSync(objectPath, contents.bpfObject);
      dp = openDatapath({ objectPath, pinDir: `${this.options.pinDir}-selftest`, conntrackEntries: PROBE_CONNTRACK_ENTRIES });
      dp.setEventsEnabled(true);
      return await selfTestProbes(contents, kernelJudge(dp), audit);
    } finally {
      dp?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async selfTestLive(gen: Generation, tables: CompiledTables, probes: readonly LiveProbe[], audit?: AuditScope): Promise<ProbeMismatch | null> {
    const probe = openDatapath({
      objectPath: this.options.objectPath,
      pinDir: `${this.options.pinDir}-probe`,
      shareMaps: { pinDir: this.options.pinDir, maps: ['ipcache', 'policy'] },
      conntrackEntries: PROBE_CONNTRACK_ENTRIES,
    });
    try {
      probe.setEventsEnabled(true);
      // The probe load has its own control and endpoints: it judges in the audit mode asked, whatever enforces now.
      const audited = auditedAddresses(probes.flatMap((p) => [p.flow.src, p.flow.dst]), audit);
      probe.setEndpoints(tables.endpoints.filter((e) => e.address !== '').map((e) => ({ address: e.address, endpointId: e.endpointId, audit: audited.has(e.address) })));
      probe.switchTo(gen, undefined, datapathAuditMode(audit));
      // Each probe opens its connection: conntrack is cleared only when an earlier probe's entry could make this
      // one a reply (a clear is a map walk; once per probe it dominated the self-test).
      const ct = new ConntrackShadow(PROBE_SPORT);
      probe.resetConntrack();
      return checkLiveProbes(probes, (p): PacketDecision => {
        const icmp = p.protocol === 1 || p.protocol === 58;
        const [saddr, daddr] = p.direction === 'egress' ? [p.localIp, p.peerIp] : [p.peerIp, p.localIp];
        const dport = icmp ? 0 : (p.dport ?? 0);
        if (ct.couldMatch(saddr, daddr, p.protocol, dport)) {
          probe.resetConntrack();
          ct.clear();
        }
        const { event } = probe.classify(p.direction, buildPacket({ saddr, daddr, protocol: p.protocol, ...(icmp ? { icmpType: p.icmpType ?? 0, icmpCode: 0 } : { sport: PROBE_SPORT, dport }) }));
        if (event !== undefined && event.verdict !== 'dropped') ct.passed(saddr, daddr, p.protocol, dport); // AUDIT is tracked too
        return event === undefined ? { judged: false } : eventDecision(event, p.direction);
      });
    } finally {
      probe.close();
    }
  }

  activate(gen: Generation, serial: number, tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void {
    const rows = this.endpointRows(tables, endpoints, audit);
    this.dp.setEndpoints(rows);
    this.dp.switchTo(gen, BigInt(serial), datapathAuditMode(audit));
    const attached = new Set(rows.map((r) => r.ifname));
    for (const name of this.dp.attachedInterfaces()) {
      if (!attached.has(name)) this.detachQuietly(name);
    }
  }

  setAudit(tables: CompiledTables, endpoints: EndpointSet, audit?: AuditScope): void {
    // Flags first: they count only under AUDIT_FLAGGED, which the one control write below turns on or off.
    if (audit?.kind === 'namespaces') this.dp.setEndpoints(this.endpointRows(tables, endpoints, audit));
    this.dp.setAudit(datapathAuditMode(audit));
  }

  /**
   * The endpoint rows of this node's pods (address, id, host-side interface index, audit flag), attaching to their
   * interfaces (again: an attach replaces the filters in place). A pod whose interface vanished is logged and left
   * out: its packets cannot arrive anyway.
   */
  private endpointRows(tables: CompiledTables, endpoints: EndpointSet, audit: AuditScope | undefined): (EndpointEntry & { ifname: string })[] {
    const ifaces = new Map<string, string>(); // address → interface of this node's pods
    for (const p of endpoints.pods) if (p.interface !== undefined) for (const ip of p.ips) ifaces.set(ip, p.interface);
    const indexes = new Map<string, number>();
    for (const name of new Set(ifaces.values())) {
      try {
        indexes.set(name, this.dp.attach(name));
      } catch (err) {
        this.options.log.line('warn', `cannot attach to ${name}: ${codeOf(err)}: ${messageOf(err)}`);
      }
    }
    const audited = auditedAddresses(podAddressesOf(endpoints), audit);
    return tables.endpoints
      .filter((e) => e.address !== '' && indexes.has(ifaces.get(e.address) ?? ''))
      .map((e) => {
        const ifname = ifaces.get(e.address)!;
        return { address: e.address, endpointId: e.endpointId, ifindex: indexes.get(ifname)!, audit: audited.has(e.address), ifname };
      });
  }

  deactivate(): void {
    for (const name of this.dp.attachedInterfaces()) this.detachQuietly(name);
    this.dp.setEndpoints([]);
    this.dp.switchTo(this.dp.activeGeneration(), 0n);
  }

  private detachQuietly(name: string): void {
    try {
      this.dp.detach(name);
    } catch (err) {
      this.options.log.line('warn', `cannot detach from ${name}: ${codeOf(err)}: ${messageOf(err)}`);
    }
  }

  patchIpcache(gen: Generation, upserts: CompiledTables['ipcache'], removals: readonly string[]): void {
    if (upserts.length > 0) this.dp.updateIpcache(gen, upserts);
    if (removals.length > 0) this.dp.deleteIpcache(gen, removals);
  }

  policyDrops(gen: Generation): number {
    return this.dp.readCounters().reduce((n, r) => (r.gen === gen && r.verdict === 'dropped' ? n + r.packets : n), 0);
  }

  auditedDrops(gen: Generation): number {
    return this.dp.readCounters().reduce((n, r) => (r.gen === gen && r.verdict === 'audit' ? n + r.packets : n), 0);
  }
}
