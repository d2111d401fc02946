/**
 * Errors of the datapath manager (layout checks, entry encoding, generation handling). Kernel failures surface as
 * LibbpfError from node-agent/libbpf; these are the manager's own.
 */
import { PalisadeError } from '../../pipeline/core/errors.js';

/**
 * A datapath misuse or bad input. Stable codes: `bad-address`, `bad-entry`, `bad-packet`, `stage-active`, `map-full`,
 * `bad-generation`, `unknown-interface`, `closed`, `events-off`, `invalid-source` (the kernel engine's synthesized packet was dropped as spoofed).
 */
export class DatapathError extends PalisadeError {}

/** The TypeScript ABI mirror disagrees with the BPF object's BTF: nothing is loaded. `mismatches` lists each one. */
export class AbiMismatchError extends PalisadeError {
  readonly mismatches: readonly string[];
  constructor(objectPath: string, mismatches: readonly string[]) {
    super(
      'abi-mismatch',
      `${objectPath}: the BPF object's layouts differ from node-agent/datapath/abi.ts (rebuild both from bpf/palisade_abi.h):\n  ` +
        mismatches.join('\n  '),
    );
    this.mismatches = mismatches;
  }
}

/** The object file is not a usable BPF ELF (no .BTF section, truncated, wrong class). */
export class BadObjectError extends PalisadeError {
  constructor(objectPath: string, why: string) {
    super('bad-object', `${objectPath}: ${why}`);
  }
}
