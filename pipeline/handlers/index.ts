/**
 * The stage handlers: functions from an event (a pull request, a push) and the store's state to outputs (a check
 * result, a published bundle), idempotent and restartable. The CLI, the GitHub Action, the webhook receiver and
 * `palisade watch` all call these and nothing else, so every front end behaves the same.
 */
export { onPullRequest, type PullRequestEvent, type PullRequestOutcome } from './on-pull-request.js';
export { onPush, type PushEvent, type PushResult } from './on-push.js';
export { publishBundle, readLatest, type LatestBundle, type PublishBundleInput, type PublishOutcome } from './publish-bundle.js';
export { judgePullRequest, effectiveActions, COMMENT_RESERVE } from './pull-request-check.js';
export type { CheckAnnotation, CheckConclusion, PullRequestContext, PullRequestFindings, PullRequestResult } from './pull-request-check.js';
export { parseGateConfig, globMatcher, DEFAULT_GATE_CONFIG, GATE_CONFIG_FILE, MAX_GATE_CONFIG_BYTES } from './gate-config.js';
export type { GateAction, GateActions, GateConfig, GateConfigParse, GateOverride } from './gate-config.js';
export { gateConfigAt } from './read-gate-config.js';
export { GateConfigError, HandlerError, type HandlerErrorCode } from './errors.js';
