/**
 * The node's datapath: `openDatapath` checks a built BPF object against the ABI mirror (abi.ts, via the object's BTF),
 * loads it with pinned maps, and returns a LoadedDatapath that stages two policy generations side by side, switches
 * between them with one control-map write, attaches the TC classifiers to endpoint interfaces, runs synthesized
 * packets (packet.ts) through BPF_PROG_TEST_RUN, and reads counters and verdict events.
 */
export { openDatapath, MAP_NAMES, PROGRAM_NAMES, type ShareableMap } from './open-datapath.js';
export * from './types.js';
export { buildPacket, IPPROTO, TCP_FLAGS, type PacketSpec } from './packet.js';
export {
  ABI,
  ABI_LAYOUTS,
  checkAbiLayouts,
  decodeVerdictEvent,
  encodeIpcacheEntry,
  encodePolicyEntry,
  policyPrefixLen,
  type FieldLayout,
  type StructLayout,
} from './abi.js';
export { Btf, type BtfMember, type BtfStruct } from './btf.js';
export { formatAddress, parseAddress, parseCidr, type AddressBytes, type CidrBytes } from './address.js';
export { AbiMismatchError, BadObjectError, DatapathError } from './errors.js';
