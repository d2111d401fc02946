/**
 * The impact diff as one stage: stream recorded flows once, judge each under the base and the head policies, and
 * fold the differences into a {@link DiffReport}.
 */
import type { PolicyModel } from '../core/model/types.js';
import { DiffAggregator, type DiffLimits } from './aggregate.js';
import { CoverageTracker, type SelectsEndpoint } from './coverage.js';
import { forEachJudgedPair, type JudgingEngine } from './judge-both.js';
import type { FlowSource } from '../simulate/index.js';
import { locateChangesInHead } from './locate-changes.js';
import type { DiffReport, InputSummary, RefInfo } from './report.js';

export interface DiffPoliciesInput {
  /** Flows one by one, or a batched source (the flow reader): judged synchronously when both engines allow it. */
  readonly flows: FlowSource;
  readonly base: { readonly ref: RefInfo; readonly engine: JudgingEngine };
  readonly head: {
    readonly ref: RefInfo;
    readonly engine: JudgingEngine;
    /** When given, rules of this model that decided no flow are reported. */
    readonly model?: PolicyModel;
    /** When given, pods no head policy selects are reported. */
    readonly selects?: SelectsEndpoint;
  };
  readonly limits?: Partial<DiffLimits>;
  /** Bound on flows an engine may read ahead of its verdicts. */
  readonly maxLookahead?: number;
  /** Read once the flows are consumed, for the report's `input` section. */
  readonly inputSummary?: () => InputSummary;
}

/**
 * Simulates `flows` under both policy sets and reports the flows whose verdict changes.
 * @throws whatever the flow source throws (e.g. a malformed line), and DiffError when an engine breaks the
 *   one-verdict-per-flow contract.
 */
export async function diffPolicies(input: DiffPoliciesInput): Promise<DiffReport> {
  const aggregator = new DiffAggregator(input.limits);
  const coverage = new CoverageTracker(input.head.selects);
  await forEachJudgedPair(
    input.flows,
    input.base.engine,
    input.head.engine,
    ({ flow, base, head }) => {
      aggregator.add(flow, base, head);
      coverage.observe(flow, head);
    },
    input.maxLookahead,
  );
  const { flows, connections } = aggregator.result();
  return {
    version: 1,
    base: input.base.ref,
    head: input.head.ref,
    flows,
    connections: input.head.model ? locateChangesInHead(connections, input.head.model) : connections,
    unmatched_rules: input.head.model ? coverage.unmatchedRules(input.head.model) : null,
    unselected_endpoints: coverage.unselectedEndpoints(),
    input: input.inputSummary?.() ?? null,
  };
}
