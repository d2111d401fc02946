/**
 * Folds (flow, base verdict, head verdict) triples into per-connection changes. Memory grows with the number of
 * distinct changed connections (bounded by `maxConnections`), never with the number of flows.
 */
import type { Flow, RuleRef, Verdict } from '../core/flow/types.js';
import { connectionOf, portLabel, reportEndpoint, sampleName } from './connection.js';
import { TimeSpan } from './time-order.js';
import type { ChangeKind, ConnectionChange, DiffReport, ReportEndpoint, SideSummary } from './report.js';

/** Bounds on what the report keeps. */
export interface DiffLimits {
  /** Distinct changed connections listed; changed flows beyond are counted in `not_grouped`. */
  readonly maxConnections: number;
  /** Distinct rules kept per side and kind (allowed/denied) of one connection. */
  readonly maxRulesPerSide: number;
  /** Sample flow indexes and endpoint names kept per connection. */
  readonly maxSamples: number;
}

export const DEFAULT_DIFF_LIMITS: DiffLimits = { maxConnections: 100_000, maxRulesPerSide: 20, maxSamples: 5 };

/**
 * How the verdict of one flow changed, or null when it did not. Drop reason and rule attribution alone do not count,
 * nor does the proxy for a flow dropped on both sides (it is dropped either way).
 */
export function classifyChange(base: Verdict, head: Verdict): ChangeKind | null {
  if (base.verdict === 'FORWARDED' && head.verdict === 'DROPPED') return 'newly-blocked';
  if (base.verdict === 'DROPPED' && head.verdict === 'FORWARDED') return 'newly-allowed';
  if (base.verdict === 'FORWARDED' && (base.l7 === 'proxy') !== (head.l7 === 'proxy')) return 'l7-changed';
  return null;
}

/** `file:line` plus the rule id: two refs with the same key are the same rule. */
export function ruleKey(ref: RuleRef): string {
  return `${ref.file}\0${ref.line}\0${ref.rule}`;
}

/** Orders rule refs by file, line, rule id. */
export function compareRules(a: RuleRef, b: RuleRef): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}

class SideAccumulator {
  private readonly dropReasons = new Set<NonNullable<Verdict['drop_reason']>>();
  private readonly droppedAt = new Set<NonNullable<Verdict['dropped_at']>>();
  private l7 = false;
  private readonly allowed = new Map<string, RuleRef>();
  private readonly denied = new Map<string, RuleRef>();
  private readonly omitted = new Set<string>();

  constructor(
    private readonly verdict: Verdict['verdict'],
    private readonly maxRules: number,
  ) {}

  add(v: Verdict): void {
    if (v.drop_reason) this.dropReasons.add(v.drop_reason);
    if (v.dropped_at) this.droppedAt.add(v.dropped_at);
    if (v.l7 === 'proxy') this.l7 = true;
    this.keep(this.allowed, v.allowed_by, 'a');
    this.keep(this.denied, v.denied_by, 'd');
  }

  private keep(into: Map<string, RuleRef>, refs: readonly RuleRef[], tag: string): void {
    for (const ref of refs) {
      const key = ruleKey(ref);
      if (into.has(key)) continue;
      if (into.size < this.maxRules) into.set(key, ref);
      else this.omitted.add(tag + key);
    }
  }

  summary(): SideSummary {
    return {
      verdict: this.verdict,
      drop_reasons: [...this.dropReasons].sort(),
      dropped_at: [...this.droppedAt].sort(),
      l7_proxied: this.l7,
      allowed_by: [...this.allowed.values()].sort(compareRules),
      denied_by: [...this.denied.values()].sort(compareRules),
      rules_omitted: this.omitted.size,
    };
  }
}

class ConnectionAccumulator {
  flows = 0;
  readonly span = new TimeSpan();
  readonly base: SideAccumulator;
  readonly head: SideAccumulator;
  readonly sampleIndexes: number[] = [];
  readonly sampleSources = new Set<string>();
  readonly sampleDestinations = new Set<string>();
  readonly sampleRequests = new Set<string>();

  constructor(
    readonly change: ChangeKind,
    readonly source: ReportEndpoint,
    readonly destination: ReportEndpoint,
    readonly protocol: Flow['protocol'],
    readonly port: number | null,
    base: Verdict,
    head: Verdict,
    private readonly limits: DiffLimits,
  ) {
    this.base = new SideAccumulator(base.verdict, limits.maxRulesPerSide);
    this.head = new SideAccumulator(head.verdict, limits.maxRulesPerSide);
  }

  add(flow: Flow, client: string, server: string, base: Verdict, head: Verdict): void {
    this.flows++;
    this.span.observe(flow.time);
    this.base.add(base);
    this.head.add(head);
    const n = this.limits.maxSamples;
    if (this.sampleIndexes.length < n) this.sampleIndexes.push(flow.index);
    if (this.sampleSources.size < n) this.sampleSources.add(client);
    if (this.sampleDestinations.size < n) this.sampleDestinations.add(server);
    if (this.sampleRequests.size < n) {
      const request = requestOf(flow);
      if (request) this.sampleRequests.add(request);
    }
  }

  result(): ConnectionChange {
    const head = this.head.summary();
    return {
      change: this.change,
      source: this.source,
      destination: this.destination,
      protocol: this.protocol,
      port: this.port,
      port_label: portLabel(this.protocol, this.port),
      flows: this.flows,
      first_seen: this.span.first,
      last_seen: this.span.last,
      base: this.base.summary(),
      head,
      sample_flow_indexes: this.sampleIndexes,
      sample_sources: [...this.sampleSources].sort(),
      sample_destinations: [...this.sampleDestinations].sort(),
      sample_requests: [...this.sampleRequests].sort(),
      changed_rules: head.verdict === 'DROPPED' ? head.denied_by : head.allowed_by,
    };
  }
}

// Longest request text kept in a sample: URLs can be long, the sample only has to identify the request.
const MAX_REQUEST_CHARS = 200;

/** `GET /path?query` for HTTP, `DNS name` for DNS, undefined for flows without L7 data. */
function requestOf(flow: Flow): string | undefined {
  let text: string | undefined;
  if (flow.http) {
    // Keep the path and query: the host is the destination already named in the connection.
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(flow.http.url);
    text = `${flow.http.method} ${(m ? m[1] : flow.http.url) || '/'}`;
  } else if (flow.dns && flow.dns.query !== '') {
    text = `DNS ${flow.dns.query}`;
  }
  return text && text.length > MAX_REQUEST_CHARS ? `${text.slice(0, MAX_REQUEST_CHARS - 1)}…` : text;
}

const CHANGE_ORDER: Readonly<Record<ChangeKind, number>> = { 'newly-blocked': 0, 'newly-allowed': 1, 'l7-changed': 2 };

const NAME_ORDER = new Intl.Collator('en', { numeric: true });

/** Names in natural order (`ns2` before `ns10`), the same on every machine. */
export function byName(a: string, b: string): number {
  return NAME_ORDER.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Report order: change kind, then most flows first, then names, protocol and port. */
export function compareConnections(a: ConnectionChange, b: ConnectionChange): number {
  return (
    CHANGE_ORDER[a.change] - CHANGE_ORDER[b.change] ||
    b.flows - a.flows ||
    byName(a.source.name, b.source.name) ||
    byName(a.destination.name, b.destination.name) ||
    a.protocol.localeCompare(b.protocol, 'en') ||
    (a.port ?? -1) - (b.port ?? -1)
  );
}

/** Accumulates changed flows into connections. Feed with {@link add}; read with {@link result}. */
export class DiffAggregator {
  private readonly groups = new Map<string, ConnectionAccumulator>();
  private total = 0;
  private readonly counts: Record<ChangeKind, number> = { 'newly-blocked': 0, 'newly-allowed': 0, 'l7-changed': 0 };
  private notGrouped = 0;
  private readonly limits: DiffLimits;

  constructor(limits: Partial<DiffLimits> = {}) {
    this.limits = { ...DEFAULT_DIFF_LIMITS, ...limits };
  }

  /** Takes one flow and its verdicts under base and head. */
  add(flow: Flow, base: Verdict, head: Verdict): void {
    this.total++;
    const change = classifyChange(base, head);
    if (change === null) return;
    this.counts[change]++;
    const conn = connectionOf(flow);
    const source = reportEndpoint(conn.client);
    const destination = reportEndpoint(conn.server);
    const key = `${change}\0${source.kind}\0${source.name}\0${destination.kind}\0${destination.name}\0${conn.protocol}\0${conn.port}`;
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= this.limits.maxConnections) {
        this.notGrouped++;
        return;
      }
      group = new ConnectionAccumulator(change, source, destination, conn.protocol, conn.port, base, head, this.limits);
      this.groups.set(key, group);
    }
    group.add(flow, sampleName(conn.client), sampleName(conn.server), base, head);
  }

  /** The flow counts and the sorted connections so far. */
  result(): Pick<DiffReport, 'flows' | 'connections'> {
    const changed = this.counts['newly-blocked'] + this.counts['newly-allowed'] + this.counts['l7-changed'];
    return {
      flows: {
        total: this.total,
        changed,
        newly_blocked: this.counts['newly-blocked'],
        newly_allowed: this.counts['newly-allowed'],
        l7_changed: this.counts['l7-changed'],
        not_grouped: this.notGrouped,
      },
      connections: [...this.groups.values()].map((g) => g.result()).sort(compareConnections),
    };
  }
}
