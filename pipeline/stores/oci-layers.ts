/**
 * Media types of the OCI layers of a bundle artifact: one layer per entry of the bundle's tar (the manifest, each
 * component, each signature), so registries deduplicate unchanged components between bundles and OCI tools can
 * pull one component. Pulling joins the entries again and checks the bundle digest (see bundle-entries.ts).
 */
import { COMPONENT } from '../core/bundle/components.js';

/** Media type of a layer whose entry is not one of the known components. */
export const ENTRY_MEDIA_TYPE = 'application/vnd.palisade.bundle.entry.v1';

const KNOWN_MEDIA_TYPES = new Map<string, string>(Object.values(COMPONENT).map((c) => [c.name, c.mediaType]));

/** The media type a layer for this tar entry gets: the component's own, or {@link ENTRY_MEDIA_TYPE}. */
export function entryMediaType(name: string): string {
  return KNOWN_MEDIA_TYPES.get(name.slice(name.lastIndexOf('/') + 1)) ?? ENTRY_MEDIA_TYPE;
}
