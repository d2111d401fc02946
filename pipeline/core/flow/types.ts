/**
 * A flow as the engines judge it: normalised from a Hubble record (and enriched from the inventory) by the flow
 * readers, independent of Hubble's JSON shape. All three engines (reference, tables, kernel) take this and return a
 * `Verdict`, so their answers can be compared field by field.
 */
import type { Label, PolicyKind, SourcePos } from '../model/types.js';

/** What kind of party an endpoint is. Only `pod` endpoints have policy enforced on them. */
export type EndpointKind =
  | 'pod'
  | 'host'
  | 'remote-node'
  | 'world'
  | 'kube-apiserver'
  | 'health'
  | 'init'
  | 'unmanaged'
  | 'ingress';

export interface NamedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface FlowEndpoint {
  readonly kind: EndpointKind;
  /** IPv4 or IPv6 text, canonical (as `net` would print it). Empty when unknown. */
  readonly ip: string;
  /** The endpoint's full identity labels (pods: k8s labels, namespace, namespace labels, service account...). */
  readonly labels: readonly Label[];
  readonly namespace?: string;
  readonly podName?: string;
  /** Owning workload (Deployment/StatefulSet... name) when known, for grouping in reports. */
  readonly workload?: string;
  /** Container ports of the pod, for named-port resolution. */
  readonly namedPorts?: readonly NamedPort[];
  /** Numeric identity as recorded, informational only: engines derive identity from labels. */
  readonly recordedIdentity?: number;
  /**
   * Optional cache key: `identityKeyOf(kind, labels)`, set by readers that hand out the same endpoint many times, so
   * engines can find their per-identity state without re-deriving it. Must equal what `identityKeyOf` returns.
   */
  readonly identityKey?: string;
  /**
   * Optional: a small dense number the reader gives each distinct `identityKey` (0, 1, 2, ... in order of first
   * sight), so engines can keep per-identity state in an array. Only meaningful together with `identityKey`, which
   * engines compare to confirm a hit (numbers from different readers may collide).
   */
  readonly identityIndex?: number;
}

/** The canonical text of an identity (kind plus sorted `source:key=value` labels), for caching per identity. */
export function identityKeyOf(kind: EndpointKind, labels: readonly Label[]): string {
  const parts = labels.map((l) => `${l.source}:${l.key}=${l.value}`);
  parts.sort();
  return `${kind}\n${parts.join('\n')}`;
}

export type FlowProtocol = 'TCP' | 'UDP' | 'SCTP' | 'ICMPv4' | 'ICMPv6';

export interface HttpRequest {
  readonly method: string;
  /** Full URL as Hubble records it (`http://host/path?query`). */
  readonly url: string;
  readonly headers: readonly { readonly key: string; readonly value: string }[];
}

export interface Flow {
  /** Position in the input (0-based), the `index` of the jsonl contract. */
  readonly index: number;
  /** RFC 3339 time, when recorded. */
  readonly time?: string;
  readonly src: FlowEndpoint;
  readonly dst: FlowEndpoint;
  readonly protocol: FlowProtocol;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** A reply of a connection opened the other way (Hubble `is_reply` / `reply`). */
  readonly isReply: boolean;
  readonly http?: HttpRequest;
  readonly dns?: { readonly query: string; readonly ips: readonly string[] };
}

/** A reference to the rule that decided, as reports print it. */
export interface RuleRef {
  readonly kind: PolicyKind;
  readonly namespace: string | null;
  readonly name: string;
  /** PolicyRule.id */
  readonly rule: string;
  readonly file: string;
  readonly line: number;
}

/**
 * The stable output of every engine for one flow (the `simulate --format jsonl` contract). `AUDIT` (only when judged
 * in audit): policy would have dropped the flow where `dropped_at` says, for `drop_reason` (`denied_by`), but that
 * endpoint audits, so the flow was forwarded.
 */
export interface Verdict {
  readonly index: number;
  readonly verdict: 'FORWARDED' | 'DROPPED' | 'AUDIT';
  readonly drop_reason: null | 'POLICY_DENIED' | 'POLICY_DENY';
  readonly dropped_at: null | 'egress' | 'ingress';
  readonly allowed_by: readonly RuleRef[];
  readonly denied_by: readonly RuleRef[];
  /**
   * Set when an L7 rule governs the flow: the datapath hands it to the proxy ('proxy'), and the verdict fields then
   * carry the L7 decision of the reference evaluator. Absent when no L7 rule applies.
   */
  readonly l7?: 'proxy';
}

export function ruleRef(policy: { kind: PolicyKind; namespace: string | null; name: string }, ruleId: string, pos: SourcePos): RuleRef {
  return { kind: policy.kind, namespace: policy.namespace, name: policy.name, rule: ruleId, file: pos.file, line: pos.line };
}
