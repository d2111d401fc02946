/**
 * The datapath ABI version, mirrored from `PALISADE_ABI_VERSION` in bpf/palisade_abi.h. This is the one TypeScript
 * definition: bundles record it, agents refuse bundles built for another one. A test reads the header and checks
 * that both agree.
 */
export const PALISADE_ABI_VERSION = 2;
