/**
 * The table compiler: policy model + inventory → deterministic identities, ipcache rows, local endpoints and
 * per-endpoint policy entries (plain, sorted data; the node agent turns them into map bytes), with a map-pressure
 * report that fails before anything is loaded. `lookup` mirrors the datapath's per-packet decision over those tables
 * and `FlowReplay` replays recorded flows through a datapath (the mirror or the kernel) with the reference
 * evaluator's verdict contract. Pure: no I/O.
 */
export type { IpcacheEntry, PolicyDirection, PolicyEntry } from './entries.js';
export { CompileError, MapPressureError } from './errors.js';
export {
  compileState,
  compileTables,
  comparePolicyEntries,
  DEFAULT_MAX_ENTRIES_PER_ENDPOINT,
  DEFAULT_MAX_ENTRIES_PER_GENERATION,
  DEFAULT_MAX_IPCACHE_ENTRIES_PER_GENERATION,
  hostPrefix,
  type CompiledEndpoint,
  type CompiledState,
  type CompiledTables,
  type CompileOptions,
  type EndpointPressure,
} from './compile-tables.js';
export { inventoryFromFlows, endpointKey, type CompileInventory, type PeerView } from './inventory.js';
export { IpcacheLpm } from './ipcache-lpm.js';
export { DatapathMirror, ENDPOINT_NONE, IDENTITY_WORLD, PolicyTable, linkLocalIcmpv6, type MirrorAuditMode, packetPortField, passesUnjudged, type PacketDecision, type PacketFacts, type PacketView, type PolicyDecision } from './lookup.js';
export { splitPortRange, type PortPrefix } from './port-prefix.js';
export { FlowReplay, type PacketJudge, type ReplayOptions } from './replay.js';
