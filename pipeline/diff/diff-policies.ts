/**
 * The impact diff as one stage: stream recorded flows once, judge each under the base and the head policies, and
 * fold the differences into a {@link DiffReport}.
 */
import type { PolicyModel } from '../core/model/types.js';
import { DiffAggregator, type DiffLimits } from './aggregate.js';
import { CoverageTracker, type SelectsEndpoint } from './coverage.js';
import { forEachJudgedPair, type JudgingEngine } from './judge-both.js';
import type { FlowSource } from '../simulate/index.js';
import { connectionOf, reportEndpoint } from './connection.js';
import { connectionEndpointsKey, locateChangesInHead, locateNewDefaultDeny } from './locate-changes.js';
import type { FlowEndpoint } from '../core/flow/types.js';
import type { DiffReport, InputSummary, RefInfo } from './report.js';

export interface DiffPoliciesInput {
  /** Flows one by one, or a batched source (the flow reader): judged synchronously when both engines allow it. */
  readonly flows: FlowSource;
  readonly base: {
    readonly ref: RefInfo;
    readonly engine: JudgingEngine;
    /** When given with the head model, newly blocked connections of brand-new policies are located too. */
    readonly model?: PolicyModel;
  };
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

/** Newly dropped connections whose endpoints are kept for locating default deny. */
const MAX_TRACKED_CONNECTIONS = 10_000;

/**
 * Simulates `flows` under both policy sets and reports the flows whose verdict changes.
 * @throws whatever the flow source throws (e.g. a malformed line), and DiffError when an engine breaks the
 *   one-verdict-per-flow contract.
 */
export async function diffPolicies(input: DiffPoliciesInput): Promise<DiffReport> {
  const aggregator = new DiffAggregator(input.limits);
  const track = input.head.model !== undefined && input.base.model !== undefined;
  const endpoints = new Map<string, { client: FlowEndpoint; server: FlowEndpoint }>();
  const coverage = new CoverageTracker(input.head.selects);
  await forEachJudgedPair(
    input.flows,
    input.base.engine,
    input.head.engine,
    ({ flow, base, head }) => {
      aggregator.add(flow, base, head);
      coverage.observe(flow, head);
      // Keep the labels of one flow per newly dropped connection: what locating default deny needs.
      if (track && base.verdict === 'FORWARDED' && head.verdict === 'DROPPED' && head.denied_by.length === 0 && endpoints.size < MAX_TRACKED_CONNECTIONS) {
        const conn = connectionOf(flow);
        const key = connectionEndpointsKey(reportEndpoint(conn.client).name, reportEndpoint(conn.server).name, conn.protocol, conn.port);
        if (!endpoints.has(key)) endpoints.set(key, { client: conn.client, server: conn.server });
      }
    },
    input.maxLookahead,
  );
  const { flows, connections } = aggregator.result();
  let located = input.head.model ? locateChangesInHead(connections, input.head.model) : connections;
  if (input.head.model && input.base.model) {
    located = locateNewDefaultDeny(located, input.head.model, input.base.model, (c) =>
      endpoints.get(connectionEndpointsKey(c.source.name, c.destination.name, c.protocol, c.port)),
    );
  }
  return {
    version: 1,
    base: input.base.ref,
    head: input.head.ref,
    flows,
    connections: located,
    unmatched_rules: input.head.model ? coverage.unmatchedRules(input.head.model) : null,
    unselected_endpoints: coverage.unselectedEndpoints(),
    input: input.inputSummary?.() ?? null,
  };
}
