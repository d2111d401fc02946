/**
 * The pull-request impact diff: the same recorded flows judged under the base and the head policy sets (one pass
 * over the flows), the flows whose verdict changes grouped into connections with the deciding rule on each side,
 * plus head rules no flow used and pods no policy selects; rendered as JSON, as a Markdown PR comment within
 * GitHub's size limit, or as GitHub Actions annotations on the deciding rules.
 */
export { diffGitRefs } from './diff-git-refs.js';
export type { DiffGitRefsOptions, DiffGitRefsResult } from './diff-git-refs.js';
export { diffPolicies } from './diff-policies.js';
export type { DiffPoliciesInput } from './diff-policies.js';
export { judgeUnderBoth, forEachJudgedPair, DEFAULT_MAX_LOOKAHEAD } from './judge-both.js';
export type { JudgingEngine, JudgedPair } from './judge-both.js';
export { DiffAggregator, DEFAULT_DIFF_LIMITS, classifyChange, compareConnections } from './aggregate.js';
export type { DiffLimits } from './aggregate.js';
export { CoverageTracker, selectsEndpointOf } from './coverage.js';
export { locateChangesInHead, locateNewDefaultDeny } from './locate-changes.js';
export type { SelectsEndpoint } from './coverage.js';
export { connectionOf, reportEndpoint } from './connection.js';
export { rfc3339Nanos } from './time-order.js';
export { renderJson } from './render-json.js';
export { renderMarkdown, GITHUB_COMMENT_LIMIT } from './render-markdown.js';
export type { MarkdownOptions } from './render-markdown.js';
export { CHANGE_TITLE, connectionTitle, headline, plural, policyName, ruleLocation, sideVerdict, decidingRules } from './wording.js';
export { ruleKey, compareRules } from './aggregate.js';
export { DiffError } from './errors.js';
export type { DiffErrorCode } from './errors.js';
export type * from './report.js';
export { renderMermaid, DEFAULT_MERMAID_EDGES } from './render-mermaid.js';
export { changesByRule, listConnections, ruleChangesMessage, ruleChangesTitle, ENDPOINT_SELECTOR_RULE, type RuleChanges } from './changes-by-rule.js';
