/**
 * The policy model (IR): what every later stage consumes — the reference evaluator, the table compiler, bundles.
 *
 * It is plain, JSON-serialisable data. Every element keeps the source position it came from so that verdicts can be
 * attributed to `file:line`. Cilium policies and Kubernetes NetworkPolicies are both translated into this one model,
 * but each keeps its own semantics through explicit fields (e.g. `Peer.cidr.matchesPods`, `PolicySpec.isolation`),
 * never through the evaluator guessing where a rule came from.
 */
import type { SourcePos } from '../errors.js';

export type { SourcePos };

export type PolicyKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' | 'NetworkPolicy';

export type Direction = 'ingress' | 'egress';

/** Transport protocols a port rule can name. ANY is expanded at build time and never appears in the model. */
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers, as the datapath keys them. */
export const PROTOCOL_NUMBER: Readonly<Record<L4Protocol | 'ICMP' | 'ICMPv6', number>> = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPv6: 58,
  SCTP: 132,
};

// ───────────────────────────── labels and selectors ─────────────────────────────

/**
 * One label as Cilium writes it: `source:key=value`. Sources seen: `k8s`, `reserved`, `cidr`, `unspec`.
 * Pod labels are `k8s`; namespace membership is `k8s:io.kubernetes.pod.namespace=<ns>`; namespace labels are
 * `k8s:io.cilium.k8s.namespace.labels.<key>=<value>`.
 */
export interface Label {
  readonly source: string;
  readonly key: string;
  readonly value: string;
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/**
 * One requirement on a label set. `source: 'any'` matches a label of that key from any source (a selector key
 * written without a prefix). NotIn and DoesNotExist match when the key is absent (apimachinery semantics).
 */
export interface LabelRequirement {
  readonly source: string;
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted, de-duplicated. Empty for Exists / DoesNotExist. */
  readonly values: readonly string[];
}

/**
 * A normalised selector: the AND of its requirements (empty = everything the context allows).
 * Namespace scoping is already explicit here: a namespaced policy's selectors carry an
 * `In [ns]` requirement on `k8s:io.kubernetes.pod.namespace` where Cilium/Kubernetes would add one implicitly.
 */
export interface Selector {
  /** Sorted by (source, key, operator) so that equal selectors serialise equally. */
  readonly requirements: readonly LabelRequirement[];
  readonly pos: SourcePos;
}

// ───────────────────────────── peers ─────────────────────────────

/** Cilium entities, resolved; `all` and `none` are kept as written and interpreted by the evaluator. */
export type Entity =
  | 'world'
  | 'world-ipv4'
  | 'world-ipv6'
  | 'cluster'
  | 'host'
  | 'remote-node'
  | 'kube-apiserver'
  | 'health'
  | 'init'
  | 'unmanaged'
  | 'ingress'
  | 'all'
  | 'none';

export type Peer =
  /** Endpoints (pods, and reserved identities when the selector names `reserved:` labels) matching the selector. */
  | { readonly kind: 'endpoints'; readonly selector: Selector; readonly pos: SourcePos }
  | { readonly kind: 'entities'; readonly entities: readonly Entity[]; readonly pos: SourcePos }
  /**
   * An address block. `matchesPods`: false for Cilium CIDR rules (they match only world/CIDR identities),
   * true for NetworkPolicy ipBlock (matches pod IPs too). Prefixes are canonical (`10.0.0.0/8`, `fd00::/8`).
   */
  | {
      readonly kind: 'cidr';
      readonly cidr: string;
      readonly except: readonly string[];
      readonly matchesPods: boolean;
      readonly pos: SourcePos;
    }
  /** toFQDNs: addresses come from DNS answers seen before the flow. Exactly one of the two is set. */
  | { readonly kind: 'fqdn'; readonly matchName?: string; readonly matchPattern?: string; readonly pos: SourcePos }
  /** from/toNodes: nodes whose labels match. */
  | { readonly kind: 'nodes'; readonly selector: Selector; readonly pos: SourcePos }
  /**
   * toServices: the backends of a Kubernetes service, by name or by service label selector; `namespace` absent =
   * services of every namespace. Ports beside it are backend (target) ports: see evaluator.ts.
   */
  | {
      readonly kind: 'service';
      readonly name?: string;
      readonly namespace?: string;
      readonly selector?: Selector;
      readonly pos: SourcePos;
    }
  /** toGroups (cloud provider groups): carried for reporting; matches nothing offline. */
  | { readonly kind: 'group'; readonly raw: unknown; readonly pos: SourcePos };

// ───────────────────────────── ports and L7 ─────────────────────────────

/** A port range on one protocol. `from`..`to` inclusive; 0..65535 means every port. */
export interface PortRange {
  readonly protocol: L4Protocol;
  readonly from: number;
  readonly to: number;
  /** Set when the policy named the port; resolved per destination pod at evaluation/compile time. */
  readonly name?: string;
  readonly pos: SourcePos;
}

export interface IcmpMatch {
  readonly family: 4 | 6;
  /** Numeric ICMP type (names are resolved at build time). */
  readonly type: number;
  readonly pos: SourcePos;
}

export interface HttpRule {
  /** Full-string RE2 patterns as written (anchoring is the evaluator's job). */
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  /** `Name` (must be present) or `Name value` (exact). */
  readonly headers?: readonly string[];
  readonly pos: SourcePos;
}

export interface DnsRule {
  readonly matchName?: string;
  readonly matchPattern?: string;
  readonly pos: SourcePos;
}

export interface L7Rules {
  readonly http?: readonly HttpRule[];
  readonly dns?: readonly DnsRule[];
  /** Other L7 parsers (kafka, generic l7proto): carried, not simulated. */
  readonly other?: string;
  readonly pos: SourcePos;
}

/** One `toPorts` entry: the OR of its ports, with optional L7 rules that apply to all of them. */
export interface PortRule {
  readonly ports: readonly PortRange[];
  readonly l7?: L7Rules;
  readonly pos: SourcePos;
}

// ───────────────────────────── rules and policies ─────────────────────────────

/** Identifies a policy object for attribution, the way Hubble's `*_allowed_by` does, plus its source. */
export interface PolicyRef {
  readonly kind: PolicyKind;
  /** null for cluster-wide policies. */
  readonly namespace: string | null;
  readonly name: string;
  readonly pos: SourcePos;
}

/**
 * One normalised rule: one direction, allow or deny, one peer set, one port/ICMP set.
 * Matching is: (any peer matches) AND (ports is null OR any port rule matches) AND (icmps is null OR any matches).
 * When `ports` and `icmps` are both null the rule matches every protocol (ICMP included).
 * When exactly one is set, only flows of that kind can match.
 */
export interface PolicyRule {
  /** Stable within a model: `<policy key>/<spec index>/<direction>[-deny]/<rule index>`. */
  readonly id: string;
  readonly direction: Direction;
  readonly action: 'allow' | 'deny';
  /**
   * OR of peers. `null` means "any peer" (Cilium: peer omitted but toPorts given; NetworkPolicy: empty from/to).
   * An empty array selects nothing (Cilium `ingress: [{}]`, `fromEndpoints: []`).
   */
  readonly peers: readonly Peer[] | null;
  readonly ports: readonly PortRule[] | null;
  readonly icmps: readonly IcmpMatch[] | null;
  readonly pos: SourcePos;
}

/**
 * One subject block: a CNP `spec` or one entry of `specs`, a CCNP spec, or a NetworkPolicy.
 * `subject` is already namespace-scoped for namespaced policies.
 */
export interface PolicySpec {
  readonly policy: PolicyRef;
  /** Index in `specs` (0 for `spec` and NetworkPolicy). */
  readonly specIndex: number;
  readonly subjectKind: 'endpoints' | 'nodes';
  readonly subject: Selector;
  /**
   * Per direction: does this block put selected endpoints into default-deny for that direction?
   * Cilium: the block has rules (allow or deny) in that direction and enableDefaultDeny.<dir> is not false.
   * NetworkPolicy: the direction is in policyTypes.
   */
  readonly defaultDeny: { readonly ingress: boolean; readonly egress: boolean };
  readonly rules: readonly PolicyRule[];
  readonly description?: string;
  readonly pos: SourcePos;
}

/** The whole model for one policy tree. Deterministic: specs sorted by (kind, namespace, name, specIndex). */
export interface PolicyModel {
  readonly specs: readonly PolicySpec[];
  /** Documents that were read but are not policies, counted by kind (for the summary). */
  readonly skipped: Readonly<Record<string, number>>;
}

// ───────────────────────────── identities (shared by evaluator, compiler, datapath) ─────────────────────────────

/** Reserved numeric identities, as Cilium numbers them. Cluster identities start at 256. */
export const RESERVED_IDENTITY = {
  unknown: 0,
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
  'world-ipv4': 9,
  'world-ipv6': 10,
} as const;

export const FIRST_CLUSTER_IDENTITY = 256;

/** Cilium's drop reasons for policy. */
export const DROP_REASON = { POLICY_DENIED: 133, POLICY_DENY: 181 } as const;
