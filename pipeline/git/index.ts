/**
 * Git access for the pipeline: open a repository and read the policy files of any commit without a checkout, as the
 * `{path, text}` list the policy loader takes. Paths stay relative to the repository root, so diagnostics and rule
 * references point at files a reviewer can open.
 */
export { openRepository } from './repository.js';
export type { GitRepository } from './repository.js';
export { readPolicyTree, resolveCommit, DEFAULT_TREE_LIMITS } from './read-policy-tree.js';
export { changedFiles, checkoutCommit, commitsSince, ensureCommits, exportFileAtCommit, isAncestor, readFileAtCommit, MAX_CHANGED_FILES } from './commits.js';
export type { CommitCheckout } from './commits.js';
export type { TreeFile, PolicyTreeSnapshot, TreeReadLimits, ReadPolicyTreeOptions } from './read-policy-tree.js';
export { GitReadError } from './errors.js';
export type { GitReadErrorCode } from './errors.js';
