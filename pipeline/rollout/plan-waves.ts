/**
 * Which wave reaches which node. Nodes are taken in name order (so a plan is the same on every controller and
 * after every restart); a label wave reaches every node not yet reached whose labels match; a percent wave reaches
 * nodes not yet reached, in order, until that percentage of the fleet (rounded up) has been reached in total; the
 * last wave reaches every node left.
 */
import type { FleetNode, WaveSpec } from './types.js';

/**
 * The wave index (0-based) at which each node of `fleet` is reached.
 * @returns node name → wave index, for every node of the fleet.
 */
export function planWaves(waves: readonly WaveSpec[], fleet: readonly FleetNode[]): Map<string, number> {
  const ordered = [...fleet].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const plan = new Map<string, number>();
  const last = waves.length - 1;
  waves.forEach((wave, index) => {
    if (index === last) {
      for (const node of ordered) if (!plan.has(node.name)) plan.set(node.name, index);
      return;
    }
    const select = wave.select;
    if (select.kind === 'labels') {
      for (const node of ordered) if (!plan.has(node.name) && labelsMatch(node.labels, select.matchLabels)) plan.set(node.name, index);
      return;
    }
    const total = Math.ceil((select.percent * ordered.length) / 100);
    for (const node of ordered) {
      if (plan.size >= total) break;
      if (!plan.has(node.name)) plan.set(node.name, index);
    }
  });
  return plan;
}

/** True when `labels` holds every pair of `match` (an empty match selects every node). */
export function labelsMatch(labels: Readonly<Record<string, string>>, match: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(match)) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return true;
}
