/**
 * GitHub integration: workflow commands (their escaping, in one place), the diff as workflow-command annotations,
 * check runs and the pull-request comment through @octokit/rest, GitHub App and token authentication, webhook
 * signature verification and the webhook receiver, and the Action's entry.
 */
export { escapeCommandData, escapeCommandProperty, workflowCommand, type WorkflowCommandName } from './workflow-commands.js';
export { renderGithub, type GithubOptions } from './render-diff-annotations.js';
export { GithubError, type GithubErrorCode } from './errors.js';
export { createGithubClient, redact, type GithubClient, type GithubClientOptions, type TokenSource } from './client.js';
export { appBotLogin, appJwt, installationTokenSource, type GithubAppCredentials, type InstallationTokenOptions } from './app-auth.js';
export { retryDecision, DEFAULT_RETRY_LIMITS, type RetryLimits, type FailedAttempt, type RetryDecision } from './retry-policy.js';
export { permissionFor } from './permissions.js';
export { truncateUtf8, prefixWithinBytes, CHECK_OUTPUT_LIMIT, JOB_SUMMARY_LIMIT } from './utf8-limit.js';
export { publishCheckRun, ANNOTATIONS_PER_REQUEST, type CheckRunTarget, type CheckRunOutcome } from './check-run.js';
export { upsertPullRequestComment, COMMENT_MARKER, COMMENT_BODY_LIMIT, type CommentTarget, type CommentOutcome } from './pr-comment.js';
export { reportPullRequest, type PullRequestTarget } from './report-pull-request.js';
export { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';
export { webhookWork, WEBHOOK_EVENTS, type WebhookWork } from './webhook-events.js';
export { createWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from './webhook-receiver.js';
export { webhookRunner, type WebhookRunnerDeps } from './webhook-runner.js';
export { mountOnPath } from './mount.js';
export { githubClientsFromEnv, type GithubIdentity } from './credentials.js';
export { runAction, type ActionIo } from './action-main.js';
export { appendJobSummary, resultWorkflowCommands, MAX_WORKFLOW_ANNOTATIONS } from './action-output.js';
