/**
 * Bounds on untrusted policy input. Every limit stops work early with a diagnostic instead of letting a hostile or
 * broken file consume unbounded time or memory.
 */

export interface LoadLimits {
  /** Largest accepted file, in bytes (UTF-8). Default 8 MiB. */
  readonly maxFileBytes: number;
  /** Most alias (`*name`) dereferences in one file. Default 100. */
  readonly maxAliasCount: number;
  /** Most values (scalars, maps, sequences) produced from one file, aliases expanded. Default 2,000,000. */
  readonly maxNodesPerFile: number;
  /** Deepest nesting of maps and sequences. Default 64 (real policies nest about 12 deep). */
  readonly maxDepth: number;
  /** Most YAML documents in one file. Default 10,000. */
  readonly maxDocumentsPerFile: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxAliasCount: 100,
  maxNodesPerFile: 2_000_000,
  maxDepth: 64,
  maxDocumentsPerFile: 10_000,
};

/** Fills unset limits with the defaults. */
export function resolveLoadLimits(partial?: Partial<LoadLimits>): LoadLimits {
  return { ...DEFAULT_LOAD_LIMITS, ...partial };
}
