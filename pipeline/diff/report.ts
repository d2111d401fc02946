/**
 * The impact-diff report: what a policy change does to recorded traffic. This is the JSON contract of
 * `palisade diff --format json`; field names are stable and snake_case like the simulate jsonl contract.
 * The Markdown and GitHub renderers read only this structure.
 */
import type { EndpointKind, FlowProtocol, RuleRef, Verdict } from '../core/flow/types.js';

/** How a connection's verdict changed between base and head. */
export type ChangeKind =
  /** FORWARDED under base, DROPPED under head. */
  | 'newly-blocked'
  /** DROPPED under base, FORWARDED under head. */
  | 'newly-allowed'
  /** FORWARDED on both sides, but the flows start or stop going through the L7 proxy. */
  | 'l7-changed';

/** One side of a connection, as reports name it: a workload for pods, the kind for everything else. */
export interface ReportEndpoint {
  readonly kind: EndpointKind;
  /** Pods only. */
  readonly namespace: string | null;
  /** Pods: the owning workload (else the pod name, else the IP). Others: null. */
  readonly workload: string | null;
  /** `namespace/workload` for pods, the kind (`world`, `host`...) otherwise. */
  readonly name: string;
}

/** A per-side summary of the verdicts a connection's flows got. Lists are sorted and de-duplicated. */
export interface SideSummary {
  readonly verdict: Verdict['verdict'];
  readonly drop_reasons: readonly NonNullable<Verdict['drop_reason']>[];
  readonly dropped_at: readonly NonNullable<Verdict['dropped_at']>[];
  /** True when some flows of the connection went through the L7 proxy on this side. */
  readonly l7_proxied: boolean;
  /** Rules that allowed the flows on this side (at most `rules_limit`, then `rules_omitted` counts the rest). */
  readonly allowed_by: readonly RuleRef[];
  readonly denied_by: readonly RuleRef[];
  readonly rules_omitted: number;
}

/** Flows of one connection whose verdict changed the same way. */
export interface ConnectionChange {
  readonly change: ChangeKind;
  /** The side that opened the connection (reply flows are counted with the connection they answer). */
  readonly source: ReportEndpoint;
  readonly destination: ReportEndpoint;
  readonly protocol: FlowProtocol;
  /** Destination port for TCP/UDP/SCTP, ICMP type of the request for ICMP; null when the flow had none. */
  readonly port: number | null;
  /** `TCP/5432`, `UDP/53`, `ICMPv4/8`. */
  readonly port_label: string;
  /** Number of flows (requests and replies) with this change. */
  readonly flows: number;
  /** RFC 3339 times as recorded; null when no flow carried a time. */
  readonly first_seen: string | null;
  readonly last_seen: string | null;
  readonly base: SideSummary;
  readonly head: SideSummary;
  /** Input indexes of the first few flows (the `index` of simulate's jsonl). */
  readonly sample_flow_indexes: readonly number[];
  /** A few pod names or IPs seen on each side. */
  readonly sample_sources: readonly string[];
  readonly sample_destinations: readonly string[];
  /** A few distinct L7 requests among the flows: `GET /api/v1/cart` (path with query), `DNS api.stripe.com`. */
  readonly sample_requests: readonly string[];
  /**
   * Where in the head policies the change is: the head rules that decide the connection, or, for a connection that
   * head drops by default deny, the head versions (same rule id) of the rules that allowed it in base. Empty when
   * neither exists (e.g. the allowing policy was deleted). GitHub annotations are placed here.
   */
  readonly changed_rules: readonly RuleRef[];
}

/** A rule of the head policies that no recorded flow was decided by. */
export interface UnmatchedRule extends RuleRef {
  readonly direction: 'ingress' | 'egress';
  readonly action: 'allow' | 'deny';
}

/** A pod seen in the recording that no head policy selects: nothing is enforced on it. */
export interface UnselectedEndpoint {
  readonly namespace: string | null;
  readonly workload: string | null;
  readonly name: string;
  /** Flows in which it took part (either side). */
  readonly flows: number;
  readonly sample_pods: readonly string[];
}

export interface RefInfo {
  readonly ref: string;
  readonly commit: string | null;
}

/** What reading the recording found, beside the flows judged. */
export interface InputSummary {
  readonly files: number;
  readonly lines: number;
  readonly flows: number;
  /** Events that are not flows (lost events, agent events), skipped. */
  readonly not_flows: number;
  /** Flows without headers a policy could judge (ARP...), skipped. */
  readonly unjudgeable: number;
  /** Malformed lines skipped with --skip-invalid. */
  readonly invalid: number;
}

/** The whole diff. */
export interface DiffReport {
  readonly version: 1;
  readonly base: RefInfo;
  readonly head: RefInfo;
  readonly flows: {
    readonly total: number;
    readonly changed: number;
    readonly newly_blocked: number;
    readonly newly_allowed: number;
    readonly l7_changed: number;
    /** Changed flows beyond the connection limit: counted above, not listed in `connections`. */
    readonly not_grouped: number;
  };
  /** Sorted: newly-blocked first, then newly-allowed, then l7-changed; within each by flows descending, then name. */
  readonly connections: readonly ConnectionChange[];
  /**
   * Head rules no verdict cited, except rules that can decide no flow (default-deny enablers: see `decidesNoFlow`).
   * null when not computed (no head model given).
   */
  readonly unmatched_rules: readonly UnmatchedRule[] | null;
  /** null when not computed. */
  readonly unselected_endpoints: readonly UnselectedEndpoint[] | null;
  /** null when the caller did not say. */
  readonly input: InputSummary | null;
}
