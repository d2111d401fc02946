/**
 * The rollout contract shared by the controller (pipeline/rollout) and the node agents: the records each side writes
 * in the bundle store and strict parsers for what the other side wrote.
 */
export * from './protocol.js';
