/**
 * The components a bundle carries, their names and media types. Names are file names inside the bundle
 * (`components/<name>`); the manifest lists them in this order.
 */

/** One component as bytes, ready to be hashed and packed. */
export interface BundleComponent {
  /** A plain file name: lowercase letters, digits, `.`, `_`, `-`; at most 64 characters. */
  readonly name: string;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

/** Names and media types of the components this format version knows. */
export const COMPONENT = {
  policyModel: { name: 'policy-model.json', mediaType: 'application/vnd.palisade.policy-model.v1+json' },
  bpfObject: { name: 'palisade.bpf.o', mediaType: 'application/vnd.palisade.bpf-object.v1+elf' },
  probes: { name: 'probes.jsonl', mediaType: 'application/vnd.palisade.probes.v1+jsonl' },
  tables: { name: 'tables.json', mediaType: 'application/vnd.palisade.tables.v1+json' },
} as const;

/** Components every bundle must carry; a bundle without one of them is rejected. */
export const REQUIRED_COMPONENTS: readonly string[] = [
  COMPONENT.policyModel.name,
  COMPONENT.bpfObject.name,
  COMPONENT.probes.name,
];

/** The order components appear in a manifest and in the file: known ones first in this order, then by name. */
export function componentOrder(a: string, b: string): number {
  const known: readonly string[] = [COMPONENT.policyModel.name, COMPONENT.bpfObject.name, COMPONENT.probes.name, COMPONENT.tables.name];
  const ia = known.indexOf(a);
  const ib = known.indexOf(b);
  if (ia !== ib) return (ia < 0 ? known.length : ia) - (ib < 0 ? known.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MEDIA_TYPE_RE = /^[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*$/;

/** True for a component name this format accepts. */
export function isComponentName(s: unknown): s is string {
  return typeof s === 'string' && NAME_RE.test(s);
}

/** True for a media type this format accepts (`type/subtype`, lowercase, no parameters). */
export function isMediaType(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 128 && MEDIA_TYPE_RE.test(s);
}
