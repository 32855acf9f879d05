import { mkdirSync } from 'node:fs';

import { FsContentStore, type ContentStore } from './content-store.js';
import { collectGarbage, type GcOptions, type GcReport, type GcRoots } from './image-gc.js';
import { FsImageIndex, type ImageIndex } from './image-index.js';
import { readImageContent, type ImageContent } from './image-manifest.js';
import { FsLayerStore, type LayerStore, type RemoveTree } from './layer-store.js';
import { FsMappedLayerStores, type MappedLayerStores } from './mapped-layer-store.js';
import { lockFile, type StoreLock } from './store-locks.js';
import { imageStorePaths, type ImageStorePaths } from './store-paths.js';
import { repairImageStore, type RepairOptions, type RepairReport } from './store-repair.js';

export type { BlobFetch, ContentStore, IngestOptions, IngestResult } from './content-store.js';
export type { GcOptions, GcReport, GcRoots } from './image-gc.js';
export type { ImageIndex, ImageIndexDocument, ImageIndexEntry } from './image-index.js';
export { checkImageConfig, checkImageManifest, imageLayers, readImageContent } from './image-manifest.js';
export type { ImageContent, ImageLayer, ImageManifest } from './image-manifest.js';
export { computeChainIds } from './layer-store.js';
export type { EnsureLayerInput, EnsureLayerOptions, LayerRecord, LayerStore, RemoveTree, TreeIdMappings } from './layer-store.js';
export { mappedLayerKey } from './mapped-layer-store.js';
export type { MappedLayerArea, MappedLayerStores } from './mapped-layer-store.js';
export type { StoreLock } from './store-locks.js';
export { digestHex, imageStorePaths, isStoreDigest, sha256Digest, shortDigest } from './store-paths.js';
export type { ImageStorePaths } from './store-paths.js';
export type { RepairOptions, RepairReport } from './store-repair.js';

/** How long to wait for the store lock by default: rm and prune wait for running pulls, pulls for rm and prune. */
const STORE_LOCK_TIMEOUT_MS = 60_000;

/**
 * devenv's image store below one store root (docs/images.md, "Store layout"): content-addressed blobs, the index
 * of references, unpacked layers by chain id, and copies of them under other id mappings. Safe for concurrent use
 * by several devenv processes:
 * - commands that add or read images (pull, tag, resolving an image for a container) hold the store lock shared;
 *   `image rm` and `image prune` hold it exclusively, so GC never sees a blob a pull has not recorded yet;
 * - per-blob and per-layer locks make two pulls of one image download and unpack each part once;
 * - every write is atomic (temp name, rename), and `repair` (run at open) removes what a killed command left.
 */
export interface ImageStore {
  readonly paths: ImageStorePaths;
  readonly blobs: ContentStore;
  readonly index: ImageIndex;
  readonly layers: LayerStore;
  /** Copies of layers unpacked under other id mappings (`images/layers-mapped/<key>/`). */
  readonly mapped: MappedLayerStores;
  /** What the repair at open removed (empty when nothing was wrong, or when opened with `repair: false`). */
  readonly repaired: RepairReport;
  /** Take the store lock shared (pull, tag, resolve). */
  lockShared(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<StoreLock>;
  /** Take the store lock exclusively (rm, prune). */
  lockExclusive(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<StoreLock>;
  /** Manifest, config and layers (with diff and chain ids) of a stored image; `chainIds` from its index entry. */
  readImage(manifestDigest: string, chainIds?: readonly string[]): ImageContent;
  /** Remove what no indexed image and no root needs; hold `lockExclusive` around it. */
  collectGarbage(roots?: GcRoots, options?: GcOptions): GcReport;
  /** Run crash repair again (openImageStore already did). */
  repair(options?: RepairOptions): RepairReport;
}

export interface OpenImageStoreOptions {
  /** How to remove unpacked trees (rootless: through the runtime, in a user namespace). Default: recursive rm. */
  removeTree?: RemoveTree;
  /** Repair at open (default true), with these options. */
  repair?: boolean | RepairOptions;
}

/** Open (creating its directories if needed) and repair the image store below `root`. */
export function openImageStore(root: string, options: OpenImageStoreOptions = {}): ImageStore {
  const paths = imageStorePaths(root);
  for (const dir of [paths.blobs, paths.ingest, paths.layers, paths.locks]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  const blobs = new FsContentStore(paths);
  const index = new FsImageIndex(paths);
  const layers = new FsLayerStore(paths, options.removeTree);
  const mapped = new FsMappedLayerStores(paths, options.removeTree);
  const target = { paths, blobs, index, layers, mapped };
  const repairOptions = typeof options.repair === 'object' ? options.repair : {};
  const repaired: RepairReport =
    options.repair === false ? { removedLayerDirs: [], removedIngest: [], droppedImages: [] } : repairImageStore(target, repairOptions);
  const lock = (shared: boolean, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<StoreLock> =>
    lockFile(paths.storeLock, { what: 'the image store', shared, timeoutMs: o.timeoutMs ?? STORE_LOCK_TIMEOUT_MS, ...(o.signal ? { signal: o.signal } : {}) });
  return {
    paths,
    blobs,
    index,
    layers,
    mapped,
    repaired,
    lockShared: (o) => lock(true, o),
    lockExclusive: (o) => lock(false, o),
    readImage: (manifestDigest, chainIds) => readImageContent(blobs, manifestDigest, chainIds),
    collectGarbage: (roots, o) => collectGarbage(target, roots, o),
    repair: (o) => repairImageStore(target, o),
  };
}
