import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { ContentStore } from './content-store.js';
import type { ImageIndex } from './image-index.js';
import { readImageContent } from './image-manifest.js';
import type { LayerStore } from './layer-store.js';
import type { MappedLayerStores } from './mapped-layer-store.js';
import { tryLockFile } from './store-locks.js';
import type { ImageStorePaths } from './store-paths.js';

/** What must survive besides the images in the index: what containers use. */
export interface GcRoots {
  /** Manifests of images containers were created from (their blobs and layers are kept). */
  manifestDigests?: Iterable<string>;
  /** Layers containers use as lowerdirs (kept even when their image is gone from the store). */
  chainIds?: Iterable<string>;
  /** Copies under other id mappings that containers use as lowerdirs: `<mapping key>/<chain hex>`. */
  mappedLayers?: Iterable<string>;
}

export interface GcOptions {
  /** Also remove partial downloads (an explicit prune: space over resumability). */
  removeIngest?: boolean;
  /** Also remove the copies under other id mappings that no container uses (`mappedLayers` roots), not only those of removed layers. */
  pruneMappedLayers?: boolean;
}

/** What a collection removed. */
export interface GcReport {
  blobsRemoved: string[];
  layersRemoved: string[];
  /** Copies under other id mappings removed: `<mapping key>/<chain hex>`. */
  mappedLayersRemoved: string[];
  ingestRemoved: string[];
  bytesFreed: number;
}

/** The store parts GC works on. */
export interface GcTarget {
  paths: ImageStorePaths;
  blobs: ContentStore;
  index: ImageIndex;
  layers: LayerStore;
  mapped?: MappedLayerStores;
}

/** Blobs and layers reachable from the index and the roots. */
export function markReachable(target: GcTarget, roots: GcRoots): { blobs: Set<string>; chainIds: Set<string> } {
  const blobs = new Set<string>();
  const chainIds = new Set<string>(roots.chainIds ?? []);
  const manifests = new Set<string>(roots.manifestDigests ?? []);
  for (const [, entry] of target.index.entries()) {
    manifests.add(entry.manifestDigest);
    blobs.add(entry.configDigest);
    if (entry.indexDigest) blobs.add(entry.indexDigest);
  }
  for (const manifestDigest of manifests) {
    blobs.add(manifestDigest);
    if (!target.blobs.has(manifestDigest)) continue;
    try {
      const image = readImageContent(target.blobs, manifestDigest);
      blobs.add(image.configDigest);
      for (const layer of image.layers) {
        blobs.add(layer.descriptor.digest);
        chainIds.add(layer.chainId);
      }
    } catch {
      // a damaged image keeps what the index names; its layers are unknown and go
    }
  }
  return { blobs, chainIds };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Remove every blob and unpacked layer that no image in the index and no root needs. The caller holds the store
 * lock exclusively, so no pull is between writing a blob and recording its image.
 */
export function collectGarbage(target: GcTarget, roots: GcRoots = {}, options: GcOptions = {}): GcReport {
  const keep = markReachable(target, roots);
  const report: GcReport = { blobsRemoved: [], layersRemoved: [], mappedLayersRemoved: [], ingestRemoved: [], bytesFreed: 0 };
  for (const digest of target.blobs.list()) {
    if (keep.blobs.has(digest)) continue;
    report.bytesFreed += target.blobs.size(digest) ?? 0;
    target.blobs.remove(digest);
    report.blobsRemoved.push(digest);
  }
  for (const name of listNames(target.paths.layers)) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue; // .tmp-*/.rm-* are repair's
    const chainId = `sha256:${name}`;
    if (keep.chainIds.has(chainId) && target.layers.has(chainId)) continue;
    report.bytesFreed += target.layers.remove(chainId);
    report.layersRemoved.push(chainId);
  }
  collectMappedLayers(target, keep.chainIds, new Set(roots.mappedLayers ?? []), options.pruneMappedLayers ?? false, report);
  if (options.removeIngest) {
    for (const name of listNames(target.paths.ingest)) {
      const hex = /^([0-9a-f]{64})\./.exec(name)?.[1];
      const lock = hex ? tryLockFile(join(target.paths.locks, hex)) : undefined;
      if (hex && !lock) continue;
      try {
        const path = join(target.paths.ingest, name);
        report.bytesFreed += fileSize(path);
        rmSync(path, { force: true });
        report.ingestRemoved.push(path);
      } finally {
        lock?.release();
      }
    }
  }
  removeIdleLockFiles(target.paths);
  return report;
}

/**
 * Mapped copies go with their layer; with `prune`, also when no container uses them (they are a cache, rebuilt
 * from the blob on the next create). An area left empty goes too.
 */
function collectMappedLayers(target: GcTarget, keepChains: Set<string>, inUse: Set<string>, prune: boolean, report: GcReport): void {
  for (const area of target.mapped?.list() ?? []) {
    for (const name of listNames(area.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue; // mapping.json, and .tmp-*/.rm-* (repair's)
      const chainId = `sha256:${name}`;
      const used = inUse.has(`${area.key}/${name}`);
      if ((used || (!prune && keepChains.has(chainId))) && area.layers.has(chainId)) continue;
      report.bytesFreed += area.layers.remove(chainId);
      report.mappedLayersRemoved.push(`${area.key}/${name}`);
    }
    target.mapped?.removeIfEmpty(area);
  }
}

/** Lock files are only used under the store lock, which the caller holds alone: idle ones can go. */
function removeIdleLockFiles(paths: ImageStorePaths): void {
  for (const name of listNames(paths.locks)) {
    const path = join(paths.locks, name);
    const lock = existsSync(path) ? tryLockFile(path) : undefined;
    if (!lock) continue;
    try {
      rmSync(path, { force: true });
    } finally {
      lock.release();
    }
  }
}
