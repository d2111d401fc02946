/**
 * The evaluator's public shapes: its options (what it needs beyond the policy model) and the evaluator itself.
 */
import type { Label } from '../model/types.js';
import type { Flow, Verdict } from '../flow/types.js';
import type { AuditScope } from './audit-scope.js';
import type { DnsCache } from './dns-cache.js';

/** One entry of a Service's `spec.ports`. */
export interface ServicePortInfo {
  readonly name?: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  /** The port clients connect to on the cluster IP. */
  readonly port: number;
  /** Where the backend listens: a number, or a container port name resolved on each backend pod. */
  readonly targetPort: number | string;
}

/** A Kubernetes Service, as `toServices` peers and service translation need it (from the inventory). */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  /** The Service object's own labels (what a `k8sServiceSelector` selects on), as `k8s:` labels. */
  readonly labels: readonly Label[];
  /** `spec.selector` (pod labels, without source), or null for a Service without selector. */
  readonly selector: Readonly<Record<string, string>> | null;
  /** Cluster IPs, canonical text. */
  readonly clusterIPs: readonly string[];
  /** `spec.ports`; absent when unknown (a flow to the cluster IP then keeps its port). */
  readonly ports?: readonly ServicePortInfo[];
}

/** Options of `createEvaluator`. */
export interface EvaluatorOptions {
  /** Services known from the inventory, for `toServices` peers. Default: none (such peers then match nothing). */
  readonly services?: readonly ServiceInfo[];
  /**
   * Upper bound on distinct endpoint identities cached (each caches its selector matches and resolved policy).
   * When exceeded the cache is dropped and rebuilt lazily. Default 100,000.
   */
  readonly maxCachedIdentities?: number;
  /**
   * Judge as a generation in audit: where `audit` covers the enforcement point that would drop, the flow goes on
   * (verdict AUDIT, keeping drop_reason, dropped_at and denied_by of that would-be drop) unless a later enforced
   * point drops it. Default: enforce everywhere.
   */
  readonly audit?: AuditScope;
}

/** The reference evaluator: judges one flow at a time under a precompiled policy model. */
export interface Evaluator {
  /**
   * The verdict of one flow. `dns` holds the answers seen earlier in the recording (the caller feeds it in order;
   * see `DnsCache.observe`). A reply flow (`isReply`) gets the verdict of the connection it answers, under its own
   * index. Never throws for any well-formed Flow.
   */
  judge(flow: Flow, dns: DnsCache): Verdict;
}
