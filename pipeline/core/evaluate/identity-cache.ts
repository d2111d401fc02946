/**
 * Endpoint identities as the evaluator sees them: a kind plus a label set. Flows repeat the same few thousand
 * identities, so each identity caches its selector answers and its resolved per-direction policy.
 */
import type { Direction, Label } from '../model/types.js';
import type { EndpointKind, FlowEndpoint } from '../flow/types.js';
import { identityKeyOf } from '../flow/types.js';
import type { CompiledModel, CompiledRule, CompiledSpec } from './compile-model.js';
import { NAMESPACE_KEY } from '../model/labels.js';
import { matchesSelector } from '../model/selector-match.js';

/** Node endpoints: where host policies (nodeSelector) apply — the local host and other nodes. */
export function isNodeEndpoint(kind: EndpointKind): boolean {
  return kind === 'host' || kind === 'remote-node';
}

/** Enforcement points: pods, and node endpoints (whose policy is empty unless a host policy selects them). */
export function isEnforcementPoint(kind: EndpointKind): boolean {
  return kind === 'pod' || isNodeEndpoint(kind);
}

/** The rules that apply to one endpoint identity in one direction. */
export interface DirectionPolicy {
  /** Default-deny is active: traffic needs an allow rule. */
  readonly enforced: boolean;
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
}

/** One identity with its caches. */
export class Identity {
  readonly kind: EndpointKind;
  readonly labels: readonly Label[];
  readonly namespace: string | undefined;
  /** Per selector id: 0 unknown, 1 no, 2 yes. */
  private readonly matches: Uint8Array;
  private egressPolicy: DirectionPolicy | undefined;
  private ingressPolicy: DirectionPolicy | undefined;

  constructor(
    private readonly model: CompiledModel,
    kind: EndpointKind,
    labels: readonly Label[],
    /** The identity key (see `identityKeyOf`); derived from kind and labels when not given. */
    readonly key: string = identityKeyOf(kind, labels),
  ) {
    this.kind = kind;
    this.labels = labels;
    this.namespace = labels.find((l) => l.key === NAMESPACE_KEY && (l.source === 'k8s' || l.source === 'any'))?.value;
    this.matches = new Uint8Array(model.selectors.length);
  }

  /** Does selector `id` select this identity's labels? (Cached.) */
  selectedBy(id: number): boolean {
    let v = this.matches[id];
    if (v === 0 || v === undefined) {
      v = matchesSelector(this.model.selectors[id]!, this.labels) ? 2 : 1;
      this.matches[id] = v;
    }
    return v === 2;
  }

  /**
   * The policy of this identity in a direction: pods get the endpoint-subject specs that select them, node endpoints
   * (`host`, `remote-node`) the node-subject specs (host firewall); other kinds have none (never enforced).
   */
  policy(direction: Direction): DirectionPolicy {
    if (direction === 'egress') {
      if (this.egressPolicy === undefined) this.egressPolicy = this.resolve('egress');
      return this.egressPolicy;
    }
    if (this.ingressPolicy === undefined) this.ingressPolicy = this.resolve('ingress');
    return this.ingressPolicy;
  }

  private resolve(direction: Direction): DirectionPolicy {
    let enforced = false;
    const allow: CompiledRule[] = [];
    const deny: CompiledRule[] = [];
    const take = (spec: CompiledSpec): void => {
      if (!this.selectedBy(spec.subject)) return;
      if (spec.defaultDeny[direction]) enforced = true;
      const d = spec[direction];
      for (const r of d.allow) allow.push(r);
      for (const r of d.deny) deny.push(r);
    };
    if (this.kind === 'pod') {
      if (this.namespace !== undefined) for (const spec of this.model.specsByNamespace.get(this.namespace) ?? []) take(spec);
      for (const spec of this.model.unscopedSpecs) take(spec);
    } else if (isNodeEndpoint(this.kind)) {
      for (const spec of this.model.nodeSpecs) take(spec);
    }
    return { enforced, allow, deny };
  }
}

/**
 * Identities by (kind, label set), keyed by the endpoint's `identityKey` when the reader set one (a string whose hash
 * V8 keeps, so lookups stay cheap), else by the key derived from its labels.
 */
export class IdentityCache {
  private byKey = new Map<string, Identity>();
  /** By the reader's dense `identityIndex`: an array slot instead of a hash lookup. */
  private byIndex: (Identity | undefined)[] = [];

  constructor(
    private readonly model: CompiledModel,
    private readonly maxEntries: number,
  ) {}

  /** The identity of an endpoint (created on first sight). */
  of(endpoint: FlowEndpoint): Identity {
    const index = endpoint.identityIndex;
    if (index !== undefined) {
      const hit = this.byIndex[index];
      if (hit !== undefined && hit.key === endpoint.identityKey) return hit;
    }
    const key = endpoint.identityKey ?? identityKeyOf(endpoint.kind, endpoint.labels);
    let identity = this.byKey.get(key);
    if (identity === undefined) {
      // Bounded memory: start over; identities are rebuilt lazily from the compiled model.
      if (this.byKey.size >= this.maxEntries) {
        this.byKey = new Map();
        this.byIndex = [];
      }
      identity = new Identity(this.model, endpoint.kind, endpoint.labels, key);
      this.byKey.set(key, identity);
    }
    if (index !== undefined && index < this.maxEntries * 4) this.byIndex[index] = identity;
    return identity;
  }
}
