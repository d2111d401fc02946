/**
 * `palisade watch`: follows a branch of a policy repository (a local path or a URL) and publishes each new commit in
 * order through the same `onPush` handler the webhook and the Action use; the position comes from the store.
 */
export { followBranch, type FollowBranchOptions } from './follow-branch.js';
export { openBranchSource, type BranchSource } from './branch-source.js';
export { WatchError, type WatchErrorCode } from './errors.js';
