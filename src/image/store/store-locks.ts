import { join } from 'node:path';

import { acquireFileLock, tryLockFile as tryLock, type FileLock, type LockOptions } from '../../host/file-lock.js';
import type { ImageStorePaths } from './store-paths.js';

/** A held flock(2) on a store lock file (host/file-lock.ts). */
export type StoreLock = FileLock;
export type StoreLockOptions = Omit<LockOptions, 'busyCode' | 'busyHint'>;

const BUSY = {
  busyCode: 'STORE_LOCKED',
  busyHint: 'Wait for the other command (a pull, `image rm` or `image prune`) to finish, then retry.',
} as const;

/** Take a store lock without waiting: undefined when someone else holds a conflicting one. */
export function tryLockFile(path: string, shared = false): StoreLock | undefined {
  return tryLock(path, shared);
}

/** Wait for a store lock, up to `timeoutMs` (default 30 s), then STORE_LOCKED. */
export function lockFile(path: string, options: StoreLockOptions): Promise<StoreLock> {
  return acquireFileLock(path, { ...options, ...BUSY });
}

/** Run fn while holding the lock. */
export async function withLockFile<T>(path: string, options: StoreLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await lockFile(path, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** Lock file of one blob (held while it is downloaded). */
export function blobLockPath(paths: ImageStorePaths, hex: string): string {
  return join(paths.locks, hex);
}

/** Lock file of one unpacked layer (held while it is unpacked); chain ids and blob digests may coincide. */
export function layerLockPath(paths: ImageStorePaths, chainHex: string): string {
  return join(paths.locks, `chain-${chainHex}`);
}

/** Lock file of one layer's copy under another id mapping (mapped-layer-store.ts), by the mapping's key. */
export function mappedLayerLockPath(paths: ImageStorePaths, mappingKey: string, chainHex: string): string {
  return join(paths.locks, `chain-${mappingKey}-${chainHex}`);
}
