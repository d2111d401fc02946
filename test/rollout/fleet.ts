/** A small fleet, a rollout spec and agents' reports for the rollout tests. */
import type { BundleRef, EnforcementMode, FleetNode, NodePhase, NodeReport, RolloutSpec } from '../../pipeline/rollout/index.js';

export const STABLE: BundleRef = { serial: 4, digest: `sha256:${'a'.repeat(64)}` };
export const NEXT: BundleRef = { serial: 5, digest: `sha256:${'b'.repeat(64)}` };
export const NEWER: BundleRef = { serial: 6, digest: `sha256:${'c'.repeat(64)}` };

/** node-0 … node-(n-1); node-0 carries the canary label. */
export function fleetOf(n: number): FleetNode[] {
  return Array.from({ length: n }, (_, i) => ({ name: `node-${i}`, labels: i === 0 ? { 'palisade.io/canary': 'true' } : {} }));
}

/** Canary by label (bakes 60 s), then half the fleet (30 s), then the rest (30 s). */
export function threeWaves(overrides: Partial<RolloutSpec['gates']> = {}, canaryMode: EnforcementMode = 'enforce'): RolloutSpec {
  return {
    waves: [
      { name: 'canary', select: { kind: 'labels', matchLabels: { 'palisade.io/canary': 'true' } }, bakeMs: 60_000, mode: canaryMode },
      { name: 'half', select: { kind: 'percent', percent: 50 }, bakeMs: 30_000, mode: 'enforce' },
      { name: 'rest', select: { kind: 'percent', percent: 100 }, bakeMs: 30_000, mode: 'enforce' },
    ],
    gates: { reportTimeoutMs: 120_000, metrics: [], ...overrides },
  };
}

/** A report of `node` about `bundle` at `at`. */
export function report(node: string, bundle: BundleRef | null, at: number, phase: NodePhase = 'active', extra: Partial<NodeReport> = {}): NodeReport {
  return { node, bundle, phase, mode: 'enforce', reportedAt: at, drops: 0, ...extra };
}

/** Every node in `nodes` reports `bundle` active (in `mode`) at `at`. */
export function allActive(nodes: Iterable<string>, bundle: BundleRef, at: number, mode: EnforcementMode = 'enforce'): Map<string, NodeReport> {
  const m = new Map<string, NodeReport>();
  for (const n of nodes) m.set(n, report(n, bundle, at, 'active', { mode }));
  return m;
}
