import { createReadStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../../host/atomic-file.js';
import { OCI_LAYER } from '../../image/registry/media-types.js';
import { sha256Hex } from '../../image/build/sha256.js';
import type { ImageLayer, ImageStore } from '../../image/store/image-store.js';
import { isRootless, unpackerFor, unpackIdMappings, type ImageServiceContext } from './image-context.js';

/** A build step's result in the cache: the layer it made (none for a step that changed nothing). */
export interface BuildCacheRecord {
  /** The step's cache key (hex). */
  key: string;
  layer: { digest: string; size: number } | null;
  /** The chain id of the stage's layers up to this one (the key fixes that chain), so a hit need not hash it. */
  chainId?: string;
  /** When the step ran (its history entry's `created`, kept so a rebuild gives the same image). */
  created: string;
  createdBy: string;
}

/** `<root>/images/build-cache`: one JSON record per step key. */
export function buildCacheDir(root: string): string {
  return join(root, 'images', 'build-cache');
}

/** A step's cache record when its layer blob is still stored (an `image prune` may have removed it). */
export function readCacheRecord(store: ImageStore, root: string, key: string): BuildCacheRecord | undefined {
  let record: BuildCacheRecord;
  try {
    record = JSON.parse(readFileSync(join(buildCacheDir(root), `${key}.json`), 'utf8')) as BuildCacheRecord;
  } catch {
    return undefined;
  }
  if (record.key !== key) return undefined;
  if (record.layer && !store.blobs.has(record.layer.digest)) return undefined;
  return record;
}

export function writeCacheRecord(root: string, record: BuildCacheRecord): void {
  mkdirSync(buildCacheDir(root), { recursive: true, mode: 0o755 });
  writeJsonAtomic(join(buildCacheDir(root), `${record.key}.json`), record);
}

/** The layer list of an image being built plus one uncompressed layer on top (chain id computed from the parent). */
export function appendLayer(layers: readonly ImageLayer[], layer: { digest: string; size: number }, knownChainId?: string): ImageLayer[] {
  const parent = layers[layers.length - 1]?.chainId;
  // computeChainIds' rule (sha256 of "<parent> <diffId>"), hashed in JS: node:crypto stays unloaded on cache hits
  const chainId = knownChainId ?? (parent === undefined ? layer.digest : `sha256:${sha256Hex(`${parent} ${layer.digest}`)}`);
  return [...layers, { descriptor: { mediaType: OCI_LAYER, digest: layer.digest, size: layer.size }, diffId: layer.digest, chainId }];
}

/** Move a written layer tar into the content store (verified by digest and size); the temp file is removed. */
export async function storeLayerBlob(store: ImageStore, tarPath: string, digest: string, size: number): Promise<void> {
  try {
    if (!store.blobs.has(digest)) {
      await store.blobs.ingest({ mediaType: OCI_LAYER, digest, size }, async () => ({ body: createReadStream(tarPath), resumed: false }), { attempts: 1 });
    }
  } finally {
    rmSync(tarPath, { force: true });
  }
}

/**
 * Make every layer's unpacked directory present (unpacking stored blobs that are not yet), and return the overlay
 * lowerdirs, top-most first. Rootless, layers are unpacked under the store's mapping, which build containers use.
 */
export async function lowerdirsOf(ctx: ImageServiceContext, store: ImageStore, layers: readonly ImageLayer[]): Promise<string[]> {
  const missing = layers.filter((l) => !store.layers.has(l.chainId));
  if (missing.length > 0) {
    const unpack = await unpackerFor(ctx);
    const { unpackVerified } = await import('./layer-diff-id.js');
    const rootless = isRootless(ctx);
    const idMappings = rootless ? unpackIdMappings(ctx) : undefined;
    for (const layer of missing) {
      const blobPath = store.blobs.path(layer.descriptor.digest);
      await store.layers.ensure({
        chainId: layer.chainId,
        diffId: layer.diffId,
        blobDigest: layer.descriptor.digest,
        unpack: async (destDir) => {
          await unpackVerified(layer, (expectDiffId) =>
            unpack({ blobPath, mediaType: layer.descriptor.mediaType, destDir, rootless, expectDiffId, ...(idMappings ? { idMappings } : {}) }),
          );
        },
      });
    }
  }
  return layers.map((l) => store.layers.diffDir(l.chainId)).reverse();
}
