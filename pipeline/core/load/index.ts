/**
 * Loading: policy files (YAML, multi-document, or JSON) → located documents and Kubernetes objects. Bounded in size,
 * depth and alias expansion; every value keeps its file, line and column. Pure: files arrive as text.
 */
export type { PolicyFile } from './policy-file.js';
export { DEFAULT_LOAD_LIMITS, resolveLoadLimits, type LoadLimits } from './limits.js';
export { parsePolicyText, type ParsedDocument, type ParsedFile } from './parse-yaml.js';
export { documentObjects, type LoadedObject } from './objects.js';
export { entryOf, field, has, isNull, items, keyPos, scalarString, stringField, toPlain, type ScalarValue, type YEntry, type YMap, type YNode, type YScalar, type YSeq } from './ynode.js';
export { formatBytes, offsetToPos } from './text-checks.js';
