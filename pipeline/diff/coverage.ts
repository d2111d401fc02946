/**
 * The cheap extras of a diff: head rules that decided no recorded flow (candidates for dead rules or for traffic the
 * recording lacks), and pods seen in the recording that no head policy selects (nothing is enforced on them).
 * Both are gathered while the flows stream by; memory grows with rules and pods, not with flows.
 */
import type { Flow, FlowEndpoint, Verdict } from '../core/flow/types.js';
import type { Peer, PolicyModel, PolicyRule } from '../core/model/types.js';
import { matchesSelector } from '../core/model/selector-match.js';
import { byName, compareRules } from './aggregate.js';
import { reportEndpoint, sampleName } from './connection.js';
import type { UnmatchedRule, UnselectedEndpoint } from './report.js';

/** Is this pod selected (as subject) by any policy of the head model? */
export type SelectsEndpoint = (endpoint: FlowEndpoint) => boolean;

/**
 * The subject test of a model: a pod is selected when the endpoint selector of some policy block matches its labels
 * (node-selector blocks, the host firewall, select no pods).
 */
export function selectsEndpointOf(model: PolicyModel): SelectsEndpoint {
  const subjects = model.specs.filter((s) => s.subjectKind === 'endpoints').map((s) => s.subject);
  return (endpoint) => subjects.some((subject) => matchesSelector(subject, endpoint.labels));
}

/**
 * True when a rule can decide no flow by construction: its peers select nobody — an empty peer list (Cilium's
 * `ingress: [{}]` / `egress: [{}]`, or `fromEndpoints: []` and the like) or only the `none` entity. Such a rule's
 * only effect is to put its subject's direction into default-deny (an allow rule), or none at all (a deny rule);
 * no verdict ever cites it, so listing it as "decided no recorded flow" says nothing about the recording. Rules that
 * select peers are kept however broad they are (an allow-all baseline such as `fromEndpoints: [{}]` decides the
 * flows it covers, and is worth listing when the recording has none of them), and so are rules whose peers Palisade
 * cannot resolve offline (toGroups, CIDR groups): they are meant to decide flows.
 */
export function decidesNoFlow(rule: PolicyRule): boolean {
  return rule.peers !== null && rule.peers.every(selectsNobody);
}

function selectsNobody(peer: Peer): boolean {
  return peer.kind === 'entities' && peer.entities.every((e) => e === 'none');
}

// Cache of selection results per pod; beyond this many pods the predicate is simply asked again.
const MAX_CACHED_PODS = 100_000;
const MAX_SAMPLE_PODS = 5;

interface Tally {
  readonly namespace: string | null;
  readonly workload: string | null;
  readonly name: string;
  flows: number;
  readonly pods: Set<string>;
}

/** Gathers rule use and unselected pods from the head side of a simulation. */
export class CoverageTracker {
  private readonly cited = new Set<string>();
  private readonly selectedByPod = new Map<string, boolean>();
  private readonly unselected = new Map<string, Tally>();

  /** @param selects the head model's subject test; without it unselected endpoints are not computed. */
  constructor(private readonly selects?: SelectsEndpoint) {}

  /** Takes one flow and its head verdict. */
  observe(flow: Flow, head: Verdict): void {
    for (const ref of head.allowed_by) this.cited.add(ref.rule);
    for (const ref of head.denied_by) this.cited.add(ref.rule);
    if (this.selects) {
      this.observeEndpoint(flow.src);
      if (flow.dst !== flow.src) this.observeEndpoint(flow.dst);
    }
  }

  private observeEndpoint(ep: FlowEndpoint): void {
    if (ep.kind !== 'pod') return;
    const podKey = `${ep.namespace ?? ''}/${ep.podName ?? ''}/${ep.ip}`;
    let selected = this.selectedByPod.get(podKey);
    if (selected === undefined) {
      selected = this.selects!(ep);
      if (this.selectedByPod.size < MAX_CACHED_PODS) this.selectedByPod.set(podKey, selected);
    }
    if (selected) return;
    const named = reportEndpoint(ep);
    let tally = this.unselected.get(named.name);
    if (!tally) {
      tally = { namespace: named.namespace, workload: named.workload, name: named.name, flows: 0, pods: new Set() };
      this.unselected.set(named.name, tally);
    }
    tally.flows++;
    if (tally.pods.size < MAX_SAMPLE_PODS) tally.pods.add(sampleName(ep));
  }

  /** Head rules never cited by a verdict, sorted by file and line; rules that can decide no flow are left out. */
  unmatchedRules(model: PolicyModel): UnmatchedRule[] {
    const out: UnmatchedRule[] = [];
    for (const spec of model.specs) {
      for (const rule of spec.rules) {
        if (this.cited.has(rule.id) || decidesNoFlow(rule)) continue;
        const { kind, namespace, name } = spec.policy;
        out.push({
          kind,
          namespace,
          name,
          rule: rule.id,
          file: rule.pos.file,
          line: rule.pos.line,
          direction: rule.direction,
          action: rule.action,
        });
      }
    }
    return out.sort(compareRules);
  }

  /** Pods no head policy selects, most flows first; null when no subject test was given. */
  unselectedEndpoints(): UnselectedEndpoint[] | null {
    if (!this.selects) return null;
    return [...this.unselected.values()]
      .map((t) => ({ namespace: t.namespace, workload: t.workload, name: t.name, flows: t.flows, sample_pods: [...t.pods].sort() }))
      .sort((a, b) => b.flows - a.flows || byName(a.name, b.name));
  }
}
