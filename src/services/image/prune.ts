import { imageUsageFor, openStoreFor, type ImageServiceContext } from './image-context.js';

export interface PruneImagesOptions {
  /** Also remove every image no container uses (Docker's `prune -a`); otherwise only unreferenced content goes. */
  all: boolean;
}

/** What `image prune` removed. */
export interface PruneImagesResult {
  untagged: string[];
  blobsRemoved: string[];
  layersRemoved: string[];
  /** Copies of layers under other id mappings (keep-id) that no container uses: `<mapping key>/<chain hex>`. */
  mappedLayersRemoved: string[];
  /** Partial downloads dropped (a later pull starts them over). */
  ingestRemoved: string[];
  bytesFreed: number;
}

/**
 * Free space: remove blobs and unpacked layers no image in the index and no container needs, copies of layers under
 * other id mappings no container uses, partial downloads, and with `all` the images no container uses. Takes the store lock exclusively: waits for running pulls.
 */
export async function pruneImages(ctx: ImageServiceContext, options: PruneImagesOptions): Promise<PruneImagesResult> {
  const store = openStoreFor(ctx);
  const lock = await store.lockExclusive();
  try {
    const usage = imageUsageFor(ctx);
    const untagged = options.all
      ? await store.index.update((images) => {
          const out: string[] = [];
          for (const [reference, entry] of Object.entries(images)) {
            if (usage.manifestDigests.has(entry.manifestDigest)) continue;
            delete images[reference];
            out.push(reference);
          }
          return out;
        })
      : [];
    const gc = store.collectGarbage(
      { manifestDigests: usage.manifestDigests.keys(), chainIds: usage.chainIds, mappedLayers: usage.mappedLayers ?? [] },
      { removeIngest: true, pruneMappedLayers: true },
    );
    return {
      untagged,
      blobsRemoved: gc.blobsRemoved,
      layersRemoved: gc.layersRemoved,
      mappedLayersRemoved: gc.mappedLayersRemoved,
      ingestRemoved: gc.ingestRemoved,
      bytesFreed: gc.bytesFreed,
    };
  } finally {
    lock.release();
  }
}
