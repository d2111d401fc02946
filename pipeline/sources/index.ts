/**
 * Policy sources: where policy files come from. Reads files and directory trees from disk (bounded, loop-safe,
 * deterministic) and hands them to the pure core as `PolicyFile`s.
 */
export { displayPath, isPolicyFileName, readPolicyFiles, readPolicyFilesSync, type ReadOptions, type ReadResult } from './read-policy-files.js';
