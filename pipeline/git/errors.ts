/**
 * Errors of reading policy trees from Git. All are I/O-class input errors (codes start with `io-git-`), so the CLI
 * exits 2 for them: the repository, ref or directory given cannot be read, which is not a policy error.
 */
import { InputError } from '../core/errors.js';

/** Stable codes of {@link GitReadError}. */
export type GitReadErrorCode =
  | 'io-git-not-a-repo'
  | 'io-git-bad-ref'
  | 'io-git-unknown-ref'
  | 'io-git-bad-subdir'
  | 'io-git-missing-subdir'
  | 'io-git-too-many-files'
  | 'io-git-file-too-large'
  | 'io-git-tree-too-large'
  | 'io-git-not-utf8'
  | 'io-git-failed';

/** Reading a tree from Git failed; `code` says why, the message names the repository, ref and path involved. */
export class GitReadError extends InputError {
  declare readonly code: GitReadErrorCode;
  constructor(code: GitReadErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
  }
}
