/**
 * Flow and inventory input: streams `hubble observe -o json` recordings (files, gzip, stdin) into normalised Flows,
 * and reads `kubectl get pods,namespaces,services,nodes -A -o json|yaml` inventories that fill in what recordings lack
 * (labels by IP, namespace labels, named container ports, workloads, services). Errors name file:line.
 */
export { FlowReader, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES, type FlowReadStats, type ReadFlowsOptions } from './read-flows.js';
export { Inventory, workloadOf, type InventoryPod } from './inventory.js';
export { readInventory, parseInventoryText, MAX_INVENTORY_BYTES, MAX_YAML_INVENTORY_BYTES } from './inventory-reader.js';
export { EndpointResolver, workloadFromPodName, type RawEndpoint } from './endpoint-resolver.js';
export { normaliseHubbleRecord, InvalidFlowError, type RecordResult } from './hubble-record.js';
export { readLines, DecompressedTooLargeError, type Line, type LineBatch, type LineReadLimits } from './line-reader.js';
export { FlowInputError, FlowIoError, InventoryError, type FlowInputErrorCode, type InventoryErrorCode } from './errors.js';
