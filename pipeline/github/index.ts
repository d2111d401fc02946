/**
 * GitHub integration: workflow commands (their escaping, in one place), the diff as workflow-command annotations,
 * check runs and the pull-request comment through @octokit/rest, GitHub App and token authentication, webhook
 * signature verification and the webhook receiver, and the Action's entry.
 */
export { escapeCommandData, escapeCommandProperty, workflowCommand, type WorkflowCommandName } from './workflow-commands.js';
export { renderGithub, type GithubOptions } from './render-diff-annotations.js';
