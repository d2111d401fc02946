/**
 * The node agent's Prometheus metrics and health endpoints.
 */
export { AgentMetrics, serveMetrics, type MetricsServer } from './agent-metrics.js';
