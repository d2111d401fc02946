/** The `rollout:` node of a palisade.yaml text, for the spec parser tests. */
import { expect } from 'vitest';
import { DEFAULT_LOAD_LIMITS, entryOf, parsePolicyText, type YNode } from '../../pipeline/core/load/index.js';

export function rolloutNode(text: string): YNode {
  const parsed = parsePolicyText({ path: 'palisade.yaml', text }, DEFAULT_LOAD_LIMITS);
  expect(parsed.diagnostics).toEqual([]);
  const root = parsed.documents[0]!.root!;
  if (root.kind !== 'map') throw new Error('not a map');
  return entryOf(root, 'rollout')!.value;
}
