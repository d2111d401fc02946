/**
 * Errors of the datapath manager (layout checks, entry encoding, generation handling). Kernel failures surface as
 * LibbpfError from node-agent/libbpf; these are the manager's own.
 */
import { PalisadeError } from '../../pipeline/core/errors.js';

/** Stable codes of {@link DatapathError}. */
export type DatapathErrorCode =
  | 'bad-address' // an address that is not IPv4/IPv6 text or does not fit the map key
  | 'bad-entry' // a table entry that does not fit the ABI layout
  | 'bad-packet' // a packet to synthesize that the datapath cannot express
  | 'bad-generation' // a generation number other than 0 or 1
  | 'stage-active' // staging into the generation that enforces
  | 'map-full' // a map has no room for the entries
  | 'datapath-closed' // the handle was closed
  | 'events-off' // verdict events were asked for on a datapath loaded without them
  | 'invalid-source' // the kernel engine's synthesized packet was dropped as spoofed
  | 'unexpected-reply' // a test run answered what no packet of ours could cause
  | 'pins-in-use' // another datapath holds the pin directory
  | 'pins-missing'; // adopting a pin directory that has no datapath

/** A datapath misuse or bad input, with its stable code. */
export class DatapathError extends PalisadeError {
  declare readonly code: DatapathErrorCode;
  constructor(code: DatapathErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The TypeScript ABI mirror disagrees with the BPF object's BTF: nothing is loaded. `mismatches` lists each one. */
export class AbiMismatchError extends PalisadeError {
  declare readonly code: 'abi-mismatch';
  readonly mismatches: readonly string[];
  constructor(objectPath: string, mismatches: readonly string[]) {
    super(
      'abi-mismatch',
      `${objectPath}: the BPF object's layouts differ from node-agent/datapath/abi.ts (rebuild both from bpf/palisade_abi.h): ` +
        mismatches.join('; '),
    );
    this.mismatches = mismatches;
  }
}

/** The object file is not a usable BPF ELF (no .BTF section, truncated, wrong class). */
export class BadObjectError extends PalisadeError {
  declare readonly code: 'bad-object';
  constructor(objectPath: string, why: string) {
    super('bad-object', `${objectPath}: ${why}`);
  }
}
