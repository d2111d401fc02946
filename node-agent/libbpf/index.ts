/**
 * Thin koffi bindings to the system libbpf.so.1 (1.1): BPF objects (open/load/close, pinned maps), maps (element and
 * batch operations), programs (BPF_PROG_TEST_RUN), TC clsact hooks and filters, bpffs pins, ring buffers, and
 * libbpf's log. Every failure is a typed error: LibbpfError (errno, operation, a message a person can act on),
 * BpffsMissingError, VerifierError (with the log).
 */
export { BpfObject } from './object.js';
export { BpfMap, UpdateFlags } from './map.js';
export { BpfProgram, objectId, type ProgTestRun } from './program.js';
export { ifIndex, tcAttach, tcDetach, tcHookCreate, tcHookDestroy, tcQuery, TcPoint, type TcFilter, type TcPointName } from './tc.js';
export { closeFd, ensurePinDir, objGet, objPin } from './pin.js';
export { RingBuffer } from './ring-buffer.js';
export { captureLog, LogLevel, recentWarnings } from './log.js';
export { bpffsMounted } from './check.js';
export { BpffsMissingError, Errno, errnoName, LibbpfError, VerifierError } from './errors.js';
export { loadNative } from './native.js';
