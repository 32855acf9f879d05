import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { DevenvError } from '../../errors.js';
import type { ContentStore } from './content-store.js';
import type { ImageIndex } from './image-index.js';
import type { LayerStore } from './layer-store.js';
import type { MappedLayerStores } from './mapped-layer-store.js';
import { blobLockPath, layerLockPath, mappedLayerLockPath, tryLockFile } from './store-locks.js';
import type { ImageStorePaths } from './store-paths.js';

/** What repair found and fixed. */
export interface RepairReport {
  /** Leftover `layers/*.tmp-*` (interrupted unpacks) and `layers/*.rm-*` (interrupted removals), also below `layers-mapped/<key>/`. */
  removedLayerDirs: string[];
  /** Abandoned downloads and half-written blobs under `ingest/`. */
  removedIngest: string[];
  /** Index entries whose manifest or config blob is gone: dropped, so the image reads as absent (pull again). */
  droppedImages: Array<{ reference: string; reason: string }>;
  /** Where an unreadable index.json was moved. */
  indexMovedAside?: string;
}

export interface RepairOptions {
  now?: number;
  /** A partial download untouched this long is abandoned (default one day); younger ones are kept for resume. */
  staleIngestMs?: number;
  /** A `.tmp-*` blob write (a few milliseconds of work) untouched this long is abandoned (default 10 minutes). */
  staleTmpMs?: number;
}

/** The store parts repair works on. */
export interface RepairTarget {
  paths: ImageStorePaths;
  blobs: ContentStore;
  index: ImageIndex;
  layers: LayerStore;
  mapped?: MappedLayerStores;
}

const DAY_MS = 86_400_000;

function ageMs(path: string, now: number): number | undefined {
  try {
    return now - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Remove `path` if nobody holds the lock at `lockPath` (taken for the duration, so nobody starts meanwhile). */
function removeIfUnlocked(lockPath: string, remove: () => void): boolean {
  const lock = tryLockFile(lockPath);
  if (!lock) return false;
  try {
    remove();
    return true;
  } finally {
    lock.release();
  }
}

function repairLayerDir(target: RepairTarget, dir: string, layers: LayerStore, lockOf: (hex: string) => string, report: RepairReport): void {
  for (const name of readdirOrEmpty(dir)) {
    const match = /^([0-9a-f]{64})\.(tmp|rm)-/.exec(name);
    if (!match?.[1]) continue;
    const path = join(dir, name);
    // A .tmp-* dir is in use while its layer lock is held (ensure holds it for the whole unpack); a .rm-* dir while
    // a removal holds the store lock exclusively.
    const lockPath = match[2] === 'tmp' ? lockOf(match[1]) : target.paths.storeLock;
    try {
      if (removeIfUnlocked(lockPath, () => layers.removeTree(path))) report.removedLayerDirs.push(path);
    } catch {
      // left for the next command; never fail a command because of a leftover
    }
  }
}

function repairLayers(target: RepairTarget, report: RepairReport): void {
  repairLayerDir(target, target.paths.layers, target.layers, (hex) => layerLockPath(target.paths, hex), report);
  for (const area of target.mapped?.list() ?? []) {
    repairLayerDir(target, area.dir, area.layers, (hex) => mappedLayerLockPath(target.paths, area.key, hex), report);
  }
}

function repairIngest(target: RepairTarget, report: RepairReport, options: Required<RepairOptions>): void {
  for (const name of readdirOrEmpty(target.paths.ingest)) {
    const path = join(target.paths.ingest, name);
    const partial = /^([0-9a-f]{64})\.partial$/.exec(name);
    const age = ageMs(path, options.now);
    if (age === undefined) continue;
    try {
      if (partial?.[1]) {
        const stored = target.blobs.has(`sha256:${partial[1]}`);
        if (!stored && age < options.staleIngestMs) continue; // kept for resume
        if (removeIfUnlocked(blobLockPath(target.paths, partial[1]), () => rmSync(path, { force: true }))) report.removedIngest.push(path);
      } else if (age >= options.staleTmpMs) {
        rmSync(path, { force: true });
        report.removedIngest.push(path);
      }
    } catch {
      // left for the next command
    }
  }
}

function brokenReason(target: RepairTarget, entry: { manifestDigest: string; configDigest: string }): string | undefined {
  try {
    if (!target.blobs.has(entry.manifestDigest)) return `manifest ${entry.manifestDigest} is missing`;
    if (!target.blobs.has(entry.configDigest)) return `config ${entry.configDigest} is missing`;
  } catch {
    return 'its digests are malformed';
  }
  return undefined;
}

function repairIndex(target: RepairTarget, report: RepairReport, now: number): void {
  let entries: ReturnType<ImageIndex['entries']>;
  try {
    entries = target.index.entries();
  } catch (error) {
    if (!(error instanceof DevenvError && error.code === 'STORE_CORRUPT')) throw error;
    const lock = tryLockFile(target.paths.indexLock);
    if (!lock) return;
    try {
      const aside = `${target.paths.index}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(target.paths.index, aside);
      report.indexMovedAside = aside;
    } finally {
      lock.release();
    }
    return;
  }
  if (!entries.some(([, entry]) => brokenReason(target, entry) !== undefined)) return;
  target.index.tryUpdate((images) => {
    for (const [reference, entry] of Object.entries(images)) {
      const reason = brokenReason(target, entry);
      if (reason === undefined) continue;
      delete images[reference];
      report.droppedImages.push({ reference, reason });
    }
  });
}

/**
 * Bring the store back to a consistent state after a crash (a kill -9 mid-pull, a power loss): remove
 * interrupted unpacks and removals, abandoned downloads (a day old, or of blobs already stored), and index
 * entries whose blobs are gone. Never waits: whatever another command holds a lock on is in use and left alone.
 */
export function repairImageStore(target: RepairTarget, options: RepairOptions = {}): RepairReport {
  const resolved: Required<RepairOptions> = {
    now: options.now ?? Date.now(),
    staleIngestMs: options.staleIngestMs ?? DAY_MS,
    staleTmpMs: options.staleTmpMs ?? 600_000,
  };
  const report: RepairReport = { removedLayerDirs: [], removedIngest: [], droppedImages: [] };
  repairLayers(target, report);
  repairIngest(target, report, resolved);
  repairIndex(target, report, resolved.now);
  return report;
}
