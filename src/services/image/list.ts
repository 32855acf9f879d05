import { familiarName, parseImageReference } from '../../image/reference.js';
import type { ImageContent, ImageIndexEntry, ImageStore } from '../../image/store/image-store.js';
import type { ImageReference } from '../../image/types.js';
import { openStoreFor, type ImageServiceContext } from './image-context.js';

/** One row of `image ls`, also its --json form. */
export interface ImageSummary {
  /** Normalised: `docker.io/library/debian:bookworm`. */
  reference: string;
  /** As people write it: `debian`, `ghcr.io/o/app`. */
  repository: string;
  tag: string | null;
  /** The digest the reference was given with (`x@sha256:…`), else null. */
  digest: string | null;
  /** The image id: the config digest, as Docker. */
  id: string;
  manifestDigest: string;
  configDigest: string;
  indexDigest?: string;
  /** When the image was built (the config's `created`), if it says. */
  created: string | null;
  /** When this reference was recorded in the store. */
  pulled: string;
  /** Bytes of its unpacked layers (compressed size for layers not unpacked). */
  size: number;
}

function parseStoredReference(reference: string): ImageReference | undefined {
  try {
    return parseImageReference(reference);
  } catch {
    return undefined;
  }
}

/** Unpacked size of an image's layers; the compressed size stands in for a layer that is not unpacked. */
export function imageSize(store: ImageStore, image: ImageContent): number {
  return image.layers.reduce((sum, layer) => sum + (store.layers.read(layer.chainId)?.size ?? layer.descriptor.size), 0);
}

export function summarizeImage(store: ImageStore, reference: string, entry: ImageIndexEntry): ImageSummary {
  const ref = parseStoredReference(reference);
  let image: ImageContent | undefined;
  try {
    image = store.readImage(entry.manifestDigest);
  } catch {
    image = undefined; // damaged: listed, so it can be removed
  }
  return {
    reference,
    repository: ref ? familiarName({ registry: ref.registry, repository: ref.repository }) : reference,
    tag: ref?.tag ?? null,
    digest: ref?.digest ?? null,
    id: entry.configDigest,
    manifestDigest: entry.manifestDigest,
    configDigest: entry.configDigest,
    ...(entry.indexDigest ? { indexDigest: entry.indexDigest } : {}),
    created: typeof image?.config.created === 'string' ? image.config.created : null,
    pulled: entry.created,
    size: image ? imageSize(store, image) : 0,
  };
}

/** Every reference in the store, newest image first (as `docker images`). */
export function listImages(ctx: ImageServiceContext): ImageSummary[] {
  const store = openStoreFor(ctx);
  return store.index
    .entries()
    .map(([reference, entry]) => summarizeImage(store, reference, entry))
    .sort((a, b) => (b.created ?? b.pulled).localeCompare(a.created ?? a.pulled) || a.reference.localeCompare(b.reference));
}
